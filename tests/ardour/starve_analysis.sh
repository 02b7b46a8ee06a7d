#!/usr/bin/env bash
# starve_analysis.sh PATTERN: while the processes whose command line contains PATTERN run
# (started just after this; run.sh passes "-o OUTPUT.wav" of one ardour7-export), put every
# thread of them named "audio-slicer*" (the plugin's analysis thread, "audio-slicer analysis",
# which the plugin starts anew at each activation) on SCHED_IDLE, so it only gets CPU when the
# rest of Ardour is idle. With Ardour pinned to one core (taskset) that makes the analysis far
# slower than the export: a plugin that waits for its analysis when rendering offline still
# renders exactly, one that does not passes audio through where its decisions came too late.
# Prints one line per thread changed; touches nothing but those threads. Gives up after 30 s
# if no such process appears, and after 10 minutes in any case.
pattern="$1"
self=$$

find_pids() {
  local p cmd
  for p in $(pgrep -f -- "$pattern"); do
    [ "$p" = "$self" ] && continue
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in *starve_analysis*) continue ;; esac # this script and its subshells
    echo "$p"
  done
}

pids=""
for _ in $(seq 1 1500); do # 30 s
  pids=$(find_pids)
  [ -n "$pids" ] && break
  sleep 0.02
done
[ -z "$pids" ] && exit 0

done_tids=" "
i=0
deadline=$((SECONDS + 600))
while [ "$SECONDS" -lt "$deadline" ]; do
  alive=0
  for pid in $pids; do
    [ -d "/proc/$pid" ] || continue
    alive=1
    for t in /proc/"$pid"/task/*; do
      tid=${t##*/}
      case "$done_tids" in *" $tid "*) continue ;; esac
      read -r comm <"$t/comm" 2>/dev/null || continue
      case "$comm" in
        audio-slicer*)
          if chrt -i -p 0 "$tid" 2>/dev/null; then echo "SCHED_IDLE: thread $tid ($comm) of pid $pid"; fi
          done_tids="$done_tids$tid "
          ;;
      esac
    done
  done
  i=$((i + 1))
  if [ $((i % 10)) -eq 0 ]; then # the wrapper script's child may come later: look again
    new=$(find_pids)
    [ -n "$new" ] && pids="$new" && alive=1
  fi
  [ "$alive" -eq 0 ] && break
  sleep 0.02
done
