# نظرسنجی‌های رضایت (CSAT پس از حل درخواست، و گاهی NPS): ایمیل‌ها،
# صفحه‌هایی که پیوندهایشان باز می‌کنند، امتیازدهی در گفتگو و امتیاز
# در صفحهٔ درخواست در کنسول.
mail-csat-subject = [#{ $number }] کار ما چطور بود؟
mail-csat-body =
    سلام { $name }،

    درخواست #{ $number } «{ $subject }» شما حل شد. به کمک ما چه امتیازی می‌دهید؟
    یکی را انتخاب کنید؛ یک کلیک کافی است:
mail-nps-subject = چقدر احتمال دارد { $store } را پیشنهاد کنید؟
mail-nps-body =
    سلام { $name }،

    چقدر احتمال دارد { $store } را به یک دوست یا همکار پیشنهاد کنید؟
    عددی از ۰ (اصلاً) تا ۱۰ (حتماً) انتخاب کنید؛ یک کلیک کافی است:
mail-survey-outro = در صفحه‌ای که باز می‌شود می‌توانید نظرتان را هم بنویسید. سپاسگزاریم!
survey-csat-1 = خیلی بد
survey-csat-2 = بد
survey-csat-3 = متوسط
survey-csat-4 = خوب
survey-csat-5 = عالی
survey-csat-title = به کمک ما امتیاز دهید
survey-csat-question = به کمک ما در درخواست #{ $number } چه امتیازی می‌دهید؟
survey-nps-title = نظر شما
survey-nps-question = چقدر احتمال دارد { $store } را به یک دوست یا همکار پیشنهاد کنید؟
survey-nps-low = ۰: اصلاً
survey-nps-high = ۱۰: حتماً
survey-comment = چیزی برای افزودن دارید؟ (اختیاری)
survey-send = ارسال
survey-saved = سپاسگزاریم! پاسخ شما ذخیره شد.
survey-failed = پاسخ شما هنوز ذخیره نشده است. لطفاً «ارسال» را بزنید.
survey-change = می‌توانید در پایین پاسخ خود را تغییر دهید یا نظری بنویسید.
survey-nps-once = شما پیش‌تر امتیاز { $score } را داده‌اید و همان می‌ماند. هنوز می‌توانید نظر بنویسید.
survey-error-score = لطفاً یکی از امتیازها را انتخاب کنید.
survey-error-comment = نظر بیش از حد طولانی است: حداکثر ۲۰۰۰ نویسه.
widget-csat-question = به کمک ما چه امتیازی می‌دهید؟
widget-csat-1 = خیلی بد
widget-csat-2 = بد
widget-csat-3 = متوسط
widget-csat-4 = خوب
widget-csat-5 = عالی
widget-csat-comment = چیزی برای افزودن دارید؟ (اختیاری)
widget-csat-send = ارسال
widget-csat-thanks = از امتیاز شما سپاسگزاریم!
widget-csat-skip = نه، ممنون
console-csat = امتیاز مشتری
console-csat-waiting = پرسیده شد، هنوز پاسخی نیامده
console-csat-answered = پاسخ داده شد
console-csat-via-mail = با ایمیل
console-csat-via-chat = در گفتگو
console-csat-comment = نظر
console-csat-of = از ۵
