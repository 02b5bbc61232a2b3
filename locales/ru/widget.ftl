# Тексты виджета чата (русский). Виджет получает их как `texts`,
# ключи без префикса `widget-`.
widget-title = Напишите нам
widget-open = Открыть чат
widget-close = Закрыть чат
widget-placeholder = Напишите сообщение…
widget-send = Отправить
widget-attach = Прикрепить фото или PDF
widget-online = В сети
widget-offline = Не в сети
widget-hours = Часы работы
widget-typing = печатает…
widget-seen = Прочитано
widget-name = Ваше имя
widget-email = Ваш e-mail
widget-email-required = Укажите e-mail, чтобы мы могли вам ответить.
widget-offline-intro = Сейчас мы не на связи. Оставьте сообщение и e-mail — мы ответим вам по почте.
widget-sent-offline = Спасибо! Мы ответим вам по e-mail.
widget-error-send = Не удалось отправить сообщение. Попробуйте ещё раз.
widget-reconnecting = Связь прервалась. Подключаемся снова…
widget-powered = Работает на storedesk
widget-suggest = Возможно, ответ есть в этих статьях:
widget-callback-open = Перезвоните мне
widget-callback-phone = Номер телефона
widget-callback-when = Когда удобно позвонить?
widget-callback-send = Заказать звонок
widget-callback-done = Спасибо! Мы вам перезвоним. Номер обращения:
widget-callback-back = Вернуться в чат
