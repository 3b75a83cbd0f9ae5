/^\*/ { if (open) bad = 1; open = 1; n++; next }
/^COMMIT[ \t]*$/ { if (!open) bad = 1; open = 0; next }
END { exit (bad || open || n == 0) }
