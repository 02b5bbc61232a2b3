/* storedesk widget: being written */
