"""The stage between collected data and the outbox: publish, subscribe and custom-function rules."""
