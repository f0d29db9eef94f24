"""Alerts to people: rules over the store, one message per problem and one when it is over,
by e-mail and webhook, with quiet hours and a daily digest."""
