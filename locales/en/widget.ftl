widget-title = Chat with us
widget-placeholder = Type your message
