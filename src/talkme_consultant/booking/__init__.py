"""Everything calendar-specific: the YCLIENTS online-booking wire, its client and its stand-in."""
