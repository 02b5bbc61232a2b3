# The chat widget's interface texts (English). Served to the widget as
# `texts`, each key without the `widget-` prefix.
widget-title = Chat with us
widget-open = Open chat
widget-close = Close chat
widget-placeholder = Write a message…
widget-send = Send
widget-attach = Attach a photo or PDF
widget-online = Online
widget-offline = Offline
widget-hours = Hours
widget-typing = typing…
widget-seen = Seen
widget-name = Your name
widget-email = Your e-mail
widget-email-required = Please enter your e-mail so we can answer you.
widget-offline-intro = We are away right now. Leave your message and e-mail, and we will answer by mail.
widget-sent-offline = Thank you! We will answer you by e-mail.
widget-error-send = The message could not be sent. Please try again.
widget-reconnecting = Connection lost. Reconnecting…
widget-powered = Powered by storedesk
widget-suggest = These articles may answer it:
widget-callback-open = Call me back
widget-callback-phone = Phone number
widget-callback-when = When is it best to call?
widget-callback-send = Request a call
widget-callback-done = Thank you! We will call you. Your request number:
widget-callback-back = Back to chat
