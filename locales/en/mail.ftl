mail-confirmation-subject = [#{ $number }] { $subject }
mail-confirmation-body =
    Hello { $name },

    We have your request and it has number #{ $number }: "{ $subject }".
    We will answer by e-mail. Reply to this message to add anything.
mail-reply-footer = You can answer this e-mail, or continue in the chat on our site.
mail-ticket-link = See or answer your request online: { $url }
mail-portal-subject = Sign in to your requests at { $workspace }
mail-portal-body =
    Open this link to see your requests and our answers:

    { $url }

    It works once, for 30 minutes. If you did not ask for it, ignore this mail.
mail-test-subject = Test mail from { $workspace }
mail-test-body =
    This is a test mail from storedesk, sent from the mail settings of { $workspace }.
    If you read it, the relay works: replies to your customers will arrive too.
mail-back-at = We are closed now and answer from { $when } ({ $zone }).
mail-proof-subject = Confirm your e-mail address at { $workspace }
mail-proof-body =
    Someone chatting with { $workspace } gave this address. If it was you, open
    this link and confirm, and the chat joins your earlier requests:

    { $url }

    It works once, for 24 hours. If it was not you, ignore this mail.
