"""Deployment day and collection day: kits (kits), the acceptable-use agreement (agreements), handing devices out
(deploy), taking them back at several stations at once, online or through the outbox (collect), and the live board
of what is still out (board)."""
