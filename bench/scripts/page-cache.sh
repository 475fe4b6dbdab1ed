# Sourced by the benchmark scripts: keeps the files a "warm" measurement reads in the page cache.
#
# A machine may evict page-cache data on its own: DAMON proactive reclaim pages out memory left
# idle for a while, so a file read once can be partly gone a second later (seen on the
# development VM: 8,000 of 524,000 pages within 5 s, and readers waiting 0.2 s on the disk in a
# 0.5 s dataset epoch), and a warm read then measures the disk after all, for one contender more
# than the other. page_cache_lock locks the given files (directories: their files) in memory with
# vmtouch (apt-get install vmtouch) until page_cache_unlock; without vmtouch it says what that
# means here and does nothing.
#
#   page_cache_lock PIDFILE FILE...   (one lock at a time per PIDFILE)
#   page_cache_unlock PIDFILE

page_cache_lock() {
  local pidfile=$1
  shift
  page_cache_unlock "$pidfile"
  if command -v vmtouch > /dev/null; then
    vmtouch -q -d -l -P "$pidfile" "$@" && sleep 1 && return 0
    echo "note: vmtouch could not lock the files (RLIMIT_MEMLOCK?): warm reads may fault pages in from the disk" >&2
    return 0
  fi
  local state
  for state in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
    if [[ -r "$state" && "$(cat "$state")" == on ]] && grep -qs pageout "${state%/state}"/contexts/*/schemes/*/action; then
      echo "note: DAMON proactive reclaim (pageout) is on and vmtouch is missing: warm reads can fault pages in from the disk" >&2
      break
    fi
  done
  return 0
}

page_cache_unlock() {
  if [[ -f "$1" ]]; then
    kill "$(cat "$1")" 2> /dev/null || true
  fi
  rm -f "$1"
}
