"""Where residents, officers and admins meet the bot: terminal, Telegram, web."""
