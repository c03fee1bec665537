"""Analytics: the Faust app that materialises job state, execution history and statistics."""
