# chart.gp - time to ready per workload: cold boot vs restored through
# checkpointd vs docker start --checkpoint in place, grouped bars with the
# runs' min-max as error bars.  bench.py writes the data file from
# bench/results/latest.json and runs
#
#   gnuplot -e "datafile='bench/results/time-to-ready.dat'; \
#               outfile='bench/results/time-to-ready.png'; charttitle='...'" bench/chart.gp
#
# Data file: one line per workload, a quoted label ("|" breaks the line)
# and three triples in seconds: median min max of cold, checkpointd, CLI.

if (!exists("datafile")) datafile = "bench/results/time-to-ready.dat"
if (!exists("outfile")) outfile = "bench/results/time-to-ready.png"
if (!exists("charttitle")) charttitle = "checkpointd: time to ready"

# "a|b" -> "a\nb" (gnuplot does not read escapes in a data file's strings)
nl(s) = (p = strstrt(s, "|")) > 0 ? s[1:p-1] . "\n" . s[p+1:] : s

stats datafile using 2 nooutput
n = STATS_records

set terminal pngcairo size 1200,620 font "DejaVu Sans,11" noenhanced
set output outfile
set title charttitle font ",11"
set style data histogram
set style histogram errorbars gap 1.6 lw 1.2
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set errorbars 0.5
set ylabel "seconds from the call until the app answers its probe"
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics lc rgb "#dddddd"
set key top left box opaque samplen 2 Left reverse
set xrange [-0.6:n - 0.4]
set bmargin 4
set xtics scale 0
set border 3
set tics nomirror

# Bar j (0-2) of cluster i sits at i + (j - 1) / (3 + gap) for 3 series.
w = 1.0 / (3 + 1.6)
plot datafile using 2:3:4:xtic(nl(strcol(1))) title "cold boot (checkpointd, cold: true)" lc rgb "#9e9e9e", \
     ''       using 5:6:7 title "restored into a new container by checkpointd" lc rgb "#1f77b4", \
     ''       using 8:9:10 title "docker start --checkpoint, in place (Engine API)" lc rgb "#ff7f0e", \
     ''       using ($0 - w):4:(sprintf("%.1f", $2)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0):7:(sprintf("%.1f", $5)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 + w):10:(sprintf("%.1f", $8)) with labels offset 0,0.7 font ",9" notitle
