# --------------------------------------------------------------------------
# awk programs (POSIX awk; mawk compatible)

# Target (-j/-g) of an iptables-save rule line.
AWK_LIB='
@awk lib.awk
'

# Shared-mode transaction generator: reads the live iptables-save output
# (file livef) and the desired file, prints an iptables-restore --noflush
# input that replaces exactly the SFW-* chains and their hooks.
# Hook placement (the coexistence contract): in the filter table the hooks
# are appended, after every foreign rule of the built-in chain, and moved to
# the end again by every load (the old hook is deleted in the same
# transaction), so fail2ban/sshguard/CrowdSec jumps and other tools' accepts
# decide first and the library's chain (with its default action) decides
# the rest. A foreign rule there that decides every packet (an unconditional
# ACCEPT/DROP/REJECT/RETURN, a goto, or a jump to a chain that always
# decides) would hide the library's chain: refused when strict, else a
# warning. Hooks in other tables (raw: CT targets, non-terminal) keep their
# place at the start of the chain.
# vars: livef, src (label), skip (" t1 t2 "), warnpolicy, strict, statsf
AWK_GEN=$AWK_LIB'
@awk gen-tx.awk
'

# Library subset of an iptables-save dump: built-in chain declarations,
# SFW-* chains, their rules and the hooks that jump to them.
AWK_EXTRACT=$AWK_LIB'
@awk extract-lib.awk
'

# Fingerprint lines: library objects of an iptables-save dump, counters
# stripped, prefixed by their table.
AWK_FP=$AWK_LIB'
@awk fingerprint.awk
'

# Persisted iptables file without the library objects.
AWK_STRIP=$AWK_LIB'
@awk strip-lib.awk
'

# Drift report (verify): the baseline file wantf against the live dump on stdin; the
# differences, or an "ok" line; exit 0 same, 1 different, 3 a dump failed. vars: kind
# (ipt, ipset, nft), what, wantf; ipt: fam, own (" filter " in exclusive mode, else " ").
AWK_DRIFT=$AWK_LIB'
@awk drift.awk
'

# sets.ipset -> restore file creating temporary sets (sfw.tmpN) plus a map
# "tmp real type family" per set. vars: src, mapf
AWK_IPSET=$AWK_LIB'
@awk ipset-stage.awk
'

# Late-bound set members: checks each value Terraform supplied at apply time
# (late.values: KEY VALUE) against its set's family (late.map: KEY SET FAMILY
# NET ORIGIN), naming the declaring construct path when one is unusable;
# prints SET VALUE, once per set and value.
AWK_LATE='
@awk late-fill.awk
'

