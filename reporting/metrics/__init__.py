"""Pure metric functions over plain rows: no ORM, no Django (STYLE.md)."""
