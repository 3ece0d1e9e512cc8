"""The CoinHub integration."""
