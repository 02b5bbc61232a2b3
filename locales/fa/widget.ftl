# متن‌های رابط ویجت گفتگو (فارسی). ویجت آن‌ها را به شکل `texts`
# و بدون پیشوند `widget-` دریافت می‌کند.
widget-title = با ما گفتگو کنید
widget-open = باز کردن گفتگو
widget-close = بستن گفتگو
widget-placeholder = پیام خود را بنویسید…
widget-send = ارسال
widget-attach = پیوست عکس یا PDF
widget-online = آنلاین
widget-offline = آفلاین
widget-hours = ساعات کاری
widget-typing = در حال نوشتن…
widget-seen = دیده شد
widget-name = نام شما
widget-email = ایمیل شما
widget-email-required = لطفاً ایمیل خود را وارد کنید تا بتوانیم پاسخ شما را بدهیم.
widget-offline-intro = در حال حاضر در دسترس نیستیم. پیام و ایمیل خود را بگذارید تا از طریق ایمیل پاسخ دهیم.
widget-sent-offline = سپاسگزاریم! پاسخ شما را از طریق ایمیل می‌دهیم.
widget-error-send = پیام ارسال نشد. لطفاً دوباره تلاش کنید.
widget-reconnecting = اتصال قطع شد. در حال اتصال دوباره…
widget-powered = قدرت‌گرفته از storedesk
widget-suggest = شاید پاسخ در این مقاله‌ها باشد:
widget-callback-open = با من تماس بگیرید
widget-callback-phone = شماره تلفن
widget-callback-when = چه زمانی برای تماس مناسب است؟
widget-callback-send = درخواست تماس
widget-callback-done = سپاس! با شما تماس می‌گیریم. شمارهٔ درخواست:
widget-callback-back = بازگشت به چت
