"""Text handling every stage shares: HTML sanitising and HTML to plain text (no I/O, no project imports)."""

from monitor.text.htmltext import html_to_text, sanitize_html

__all__ = ["html_to_text", "sanitize_html"]
