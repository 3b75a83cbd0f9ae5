/^:SFW-/ { next }
/^-A / { if (issfw($2) || issfw(tgt($0))) next }
{ print }
