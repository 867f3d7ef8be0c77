"""Other platforms' exports (Substack, Ghost, beehiiv, Mailchimp, Buttondown) brought in."""
