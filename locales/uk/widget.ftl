# Тексти віджета чату (українська). Віджет отримує їх як `texts`,
# ключі без префікса `widget-`.
widget-title = Напишіть нам
widget-open = Відкрити чат
widget-close = Закрити чат
widget-placeholder = Напишіть повідомлення…
widget-send = Надіслати
widget-attach = Додати фото або PDF
widget-online = У мережі
widget-offline = Не в мережі
widget-hours = Години роботи
widget-typing = друкує…
widget-seen = Переглянуто
widget-name = Ваше ім’я
widget-email = Ваш e-mail
widget-email-required = Вкажіть e-mail, щоб ми могли вам відповісти.
widget-offline-intro = Зараз ми не на зв’язку. Залиште повідомлення та e-mail — ми відповімо вам поштою.
widget-sent-offline = Дякуємо! Ми відповімо вам на e-mail.
widget-error-send = Не вдалося надіслати повідомлення. Спробуйте ще раз.
widget-reconnecting = Зв’язок перервано. Підключаємося знову…
widget-powered = Працює на storedesk
widget-suggest = Можливо, відповідь є в цих статтях:
widget-callback-open = Передзвоніть мені
widget-callback-phone = Номер телефону
widget-callback-when = Коли зручно зателефонувати?
widget-callback-send = Замовити дзвінок
widget-callback-done = Дякуємо! Ми вам передзвонимо. Номер звернення:
widget-callback-back = Повернутися до чату
