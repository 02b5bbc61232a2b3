# Satisfaction surveys (CSAT after a resolved request, NPS now and then):
# the mails, the pages their links open, the chat widget's rating and the
# rating on the console's ticket page.
mail-csat-subject = [#{ $number }] How did we do?
mail-csat-body =
    Hello { $name },

    Your request #{ $number } "{ $subject }" is resolved. How would you rate our help?
    Choose one; a single click is enough:
mail-nps-subject = How likely are you to recommend { $store }?
mail-nps-body =
    Hello { $name },

    How likely are you to recommend { $store } to a friend or colleague?
    Choose a number from 0 (not at all likely) to 10 (extremely likely); a single click is enough:
mail-survey-outro = On the page that opens you can add a comment if you like. Thank you!
survey-csat-1 = Very poor
survey-csat-2 = Poor
survey-csat-3 = Okay
survey-csat-4 = Good
survey-csat-5 = Excellent
survey-csat-title = Rate our help
survey-csat-question = How would you rate our help with request #{ $number }?
survey-nps-title = Your opinion
survey-nps-question = How likely are you to recommend { $store } to a friend or colleague?
survey-nps-low = 0: not at all likely
survey-nps-high = 10: extremely likely
survey-comment = Anything to add? (optional)
survey-send = Send
survey-saved = Thank you! Your answer is saved.
survey-failed = Your answer is not saved yet. Please press Send.
survey-change = You can change your answer or add a comment below.
survey-nps-once = You already gave a score of { $score }, and it stays. You can still add a comment.
survey-error-score = Please choose one of the scores.
survey-error-comment = The comment is too long: 2000 characters at most.
widget-csat-question = How would you rate our help?
widget-csat-1 = Very poor
widget-csat-2 = Poor
widget-csat-3 = Okay
widget-csat-4 = Good
widget-csat-5 = Excellent
widget-csat-comment = Anything to add? (optional)
widget-csat-send = Send
widget-csat-thanks = Thank you for your rating!
widget-csat-skip = No, thanks
console-csat = Customer rating
console-csat-waiting = Asked, no answer yet
console-csat-answered = Answered
console-csat-via-mail = by mail
console-csat-via-chat = in the chat
console-csat-comment = Comment
console-csat-of = of 5
