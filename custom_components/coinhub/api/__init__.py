"""Async clients for the JSEcoin, Coinetize and coinsoftworks APIs."""
