/^\*/ { t = substr($0, 2); keep = index(want, " " t " ") > 0; if (keep) got[t] = 1 }
keep { print }
END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in got)) printf "*%s\nCOMMIT\n", w[i] }
