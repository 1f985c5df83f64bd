# Slurm's time forms, as sbatch --begin and scontrol update StartTime read them: each form is
# accepted or refused alike, and an accepted one gives the same start (to the minute; `now+`
# forms as minutes from now, so that a minute turning between the two sides cannot differ).
ids=()
begin() { # FORM [ARG...]: submit with --begin=FORM, print the start it got or the refusal
  local out rc j s
  out=$(sbatch --parsable --begin="$1" -o /dev/null --wrap true 2>&1); rc=$?
  if [[ $rc != 0 ]]; then echo "$1: rc=$rc"; echo "$out"; return; fi
  j=$(jid <<<"$out"); ids+=("$j")
  s=$(squeue -h -j "$j" -o '%S')
  if [[ $1 == now* ]]; then
    echo "$1: now+$(( ($(date -d "$s" +%s) - $(date +%s) + 30) / 60 ))min"
  else
    echo "$1: $(date -d "$s" +'%Y%m%d.%H%M')"
  fi
}
for form in now+5minutes now+5min now+5m now+90 now+1hour now+2days now+1week now+5x \
  tomorrow noon midnight teatime fika elevenses 16:00 16:00:30 25:00 \
  2030-01-01 2030-01-01T10:00 2030-01-01T10:00:00 2030-13-01 \
  01/15/30 0115 011530 01.15.30 12-25 "noon tomorrow" "tomorrow noon" Noon garbage; do
  begin "$form"
done
j=$(sbatch --parsable -H -o /dev/null --wrap true); ids+=("$j")
for form in now+1hour tomorrow 2030-01-01T10:00:00 now+5m; do
  scontrol update jobid="$j" StartTime="$form"; echo "update $form: rc=$?"
  s=$(squeue -h -j "$j" -o '%S')
  if [[ $form == now* ]]; then echo "  now+$(( ($(date -d "$s" +%s) - $(date +%s) + 30) / 60 ))min"
  else echo "  $(date -d "$s" +'%Y%m%d.%H%M' 2>&1)"; fi
done
scancel "${ids[@]}"
