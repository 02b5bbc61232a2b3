# Опросы удовлетворённости (CSAT после решённого обращения, иногда NPS):
# письма, страницы по их ссылкам, оценка в чате и оценка на странице
# обращения в консоли.
mail-csat-subject = [#{ $number }] Как мы справились?
mail-csat-body =
    Здравствуйте, { $name }!

    Ваше обращение #{ $number } «{ $subject }» решено. Как вы оцените нашу помощь?
    Выберите оценку, достаточно одного нажатия:
mail-nps-subject = Порекомендуете ли вы { $store }?
mail-nps-body =
    Здравствуйте, { $name }!

    Насколько вероятно, что вы порекомендуете { $store } другу или коллеге?
    Выберите число от 0 (точно нет) до 10 (точно да), достаточно одного нажатия:
mail-survey-outro = На открывшейся странице можно добавить комментарий. Спасибо!
survey-csat-1 = Очень плохо
survey-csat-2 = Плохо
survey-csat-3 = Нормально
survey-csat-4 = Хорошо
survey-csat-5 = Отлично
survey-csat-title = Оцените нашу помощь
survey-csat-question = Как вы оцените нашу помощь по обращению #{ $number }?
survey-nps-title = Ваше мнение
survey-nps-question = Насколько вероятно, что вы порекомендуете { $store } другу или коллеге?
survey-nps-low = 0: точно нет
survey-nps-high = 10: точно да
survey-comment = Хотите что-то добавить? (необязательно)
survey-send = Отправить
survey-saved = Спасибо! Ваш ответ сохранён.
survey-failed = Ответ ещё не сохранён. Нажмите «Отправить».
survey-change = Ниже можно изменить ответ или добавить комментарий.
survey-nps-once = Вы уже поставили оценку { $score }, она остаётся. Комментарий добавить можно.
survey-error-score = Выберите одну из оценок.
survey-error-comment = Комментарий слишком длинный: не больше 2000 символов.
widget-csat-question = Как вы оцените нашу помощь?
widget-csat-1 = Очень плохо
widget-csat-2 = Плохо
widget-csat-3 = Нормально
widget-csat-4 = Хорошо
widget-csat-5 = Отлично
widget-csat-comment = Хотите что-то добавить? (необязательно)
widget-csat-send = Отправить
widget-csat-thanks = Спасибо за оценку!
widget-csat-skip = Нет, спасибо
console-csat = Оценка клиента
console-csat-waiting = Спросили, ответа пока нет
console-csat-answered = Ответил
console-csat-via-mail = по почте
console-csat-via-chat = в чате
console-csat-comment = Комментарий
console-csat-of = из 5
