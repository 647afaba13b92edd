# Sourced by scripts/cluster.sh and scripts/pg.sh.
#
# free_port VAR: a free loopback TCP port below the kernel's ephemeral range
# (32768 and up, where other programs' bind-to-0 ports come from), not one
# already handed out in this run, into the variable VAR. (Into a variable, not
# printed: a command substitution would run it in a subshell, which forgets
# the ports handed out.)
taken=" "
free_port() {
  local listening candidate
  listening="$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | tr '\n' ' ' || true)"
  while :; do
    candidate=$((20000 + RANDOM % 12000))
    case " $listening $taken " in *" $candidate "*) continue ;; esac
    taken+="$candidate "
    printf -v "$1" '%s' "$candidate"
    return
  done
}
