mail-confirmation-subject = [#{ $number }] { $subject }
mail-confirmation-body =
    سلام { $name }،

    درخواست شما را دریافت کردیم و شمارهٔ آن #{ $number } است: «{ $subject }».
    پاسخ را با ایمیل می‌فرستیم. برای افزودن توضیح، به همین ایمیل پاسخ دهید.
mail-reply-footer = می‌توانید به این ایمیل پاسخ دهید یا گفتگو را در چت سایت ما ادامه دهید.
mail-ticket-link = مشاهده یا پاسخ به درخواست در سایت: { $url }
