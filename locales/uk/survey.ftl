# Опитування задоволеності (CSAT після розв'язаного звернення, іноді NPS):
# листи, сторінки за їхніми посиланнями, оцінка в чаті та оцінка на
# сторінці звернення в консолі.
mail-csat-subject = [#{ $number }] Як ми впоралися?
mail-csat-body =
    Вітаємо, { $name }!

    Ваше звернення #{ $number } «{ $subject }» розв'язано. Як ви оціните нашу допомогу?
    Виберіть оцінку, достатньо одного натискання:
mail-nps-subject = Чи порадите ви { $store }?
mail-nps-body =
    Вітаємо, { $name }!

    Наскільки ймовірно, що ви порадите { $store } другові чи колезі?
    Виберіть число від 0 (точно ні) до 10 (точно так), достатньо одного натискання:
mail-survey-outro = На сторінці, що відкриється, можна додати коментар. Дякуємо!
survey-csat-1 = Дуже погано
survey-csat-2 = Погано
survey-csat-3 = Нормально
survey-csat-4 = Добре
survey-csat-5 = Чудово
survey-csat-title = Оцініть нашу допомогу
survey-csat-question = Як ви оціните нашу допомогу зі зверненням #{ $number }?
survey-nps-title = Ваша думка
survey-nps-question = Наскільки ймовірно, що ви порадите { $store } другові чи колезі?
survey-nps-low = 0: точно ні
survey-nps-high = 10: точно так
survey-comment = Бажаєте щось додати? (необов'язково)
survey-send = Надіслати
survey-saved = Дякуємо! Вашу відповідь збережено.
survey-failed = Відповідь ще не збережено. Натисніть «Надіслати».
survey-change = Нижче можна змінити відповідь або додати коментар.
survey-nps-once = Ви вже поставили оцінку { $score }, вона залишається. Коментар додати можна.
survey-error-score = Виберіть одну з оцінок.
survey-error-comment = Коментар задовгий: не більше 2000 символів.
widget-csat-question = Як ви оціните нашу допомогу?
widget-csat-1 = Дуже погано
widget-csat-2 = Погано
widget-csat-3 = Нормально
widget-csat-4 = Добре
widget-csat-5 = Чудово
widget-csat-comment = Бажаєте щось додати? (необов'язково)
widget-csat-send = Надіслати
widget-csat-thanks = Дякуємо за оцінку!
widget-csat-skip = Ні, дякую
console-csat = Оцінка клієнта
console-csat-waiting = Запитали, відповіді ще немає
console-csat-answered = Відповів
console-csat-via-mail = поштою
console-csat-via-chat = у чаті
console-csat-comment = Коментар
console-csat-of = з 5
