# chart.gp - time to ready per workload, Docker and Podman side by side:
# cold boot vs restored into a new container by checkpointd vs restored by
# hand (Docker: docker start --checkpoint in place; Podman: libpod
# restore?import=true into a new container + loopback + probe), grouped bars
# with the runs' min-max as error bars.  bench.py writes the data file from
# bench/results/latest.json and runs
#
#   gnuplot -e "datafile='bench/results/time-to-ready.dat'; \
#               outfile='bench/results/time-to-ready.png'; charttitle='...'" bench/chart.gp
#
# Data file: one line per workload, a quoted label ("|" breaks the line)
# and six triples in seconds, median min max of: Docker cold, checkpointd,
# by hand; Podman cold, checkpointd, by hand ("NaN NaN NaN" when missing:
# tomcat10-jvm, whose checkpoints take the jvm profile, has no by-hand bars).

if (!exists("datafile")) datafile = "bench/results/time-to-ready.dat"
if (!exists("outfile")) outfile = "bench/results/time-to-ready.png"
if (!exists("charttitle")) charttitle = "checkpointd: time to ready"

# "a|b" -> "a\nb" (gnuplot does not read escapes in a data file's strings)
nl(s) = (p = strstrt(s, "|")) > 0 ? s[1:p-1] . "\n" . s[p+1:] : s

stats datafile using 2 nooutput
n = STATS_records

set terminal pngcairo size (n > 3 ? 360 * n + 240 : 1400),680 font "DejaVu Sans,11" noenhanced
set output outfile
set title charttitle font ",11"
set style data histogram
gap = 2  # an integer (gnuplot truncates it); the histogram style below repeats it
set style histogram errorbars gap 2 lw 1.2
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set errorbars 0.5
set ylabel "seconds from the call until the app answers its probe"
set yrange [0:*]
set offsets 0, 0, graph 0.14, 0
set grid ytics lc rgb "#dddddd"
set key top left box opaque samplen 2 Left reverse maxrows 3 width -2
set xrange [-0.6:n - 0.4]
set bmargin 5.5
set xtics scale 0 offset 0,-1.3
set border 3
set tics nomirror

# 7 series per cluster: Docker's 3 bars, an empty slot, Podman's 3 bars.
# Bar j (0-6) of cluster i sits at i + (j - 3) / (7 + gap).
w = 1.0 / (7 + gap)
do for [i = 0:n-1] {
    set label sprintf("Docker") at i - 2 * w, graph 0 center offset 0,-0.8 font ",9"
    set label sprintf("Podman") at i + 2 * w, graph 0 center offset 0,-0.8 font ",9"
}

lbl(x) = (x == x) ? sprintf("%.1f", x) : ""
plot datafile using 2:3:4:xtic(nl(strcol(1))) title "Docker: cold boot (checkpointd, cold: true)" lc rgb "#9e9e9e", \
     ''       using 5:6:7 title "Docker: restored into a new container by checkpointd" lc rgb "#1f77b4", \
     ''       using 8:9:10 title "Docker: docker start --checkpoint, in place (Engine API)" lc rgb "#ff7f0e", \
     ''       using (NaN):(NaN):(NaN) notitle, \
     ''       using 11:12:13 title "Podman: cold boot (checkpointd, cold: true)" lc rgb "#9e9e9e" fs pattern 4 border rgb "#333333", \
     ''       using 14:15:16 title "Podman: restored into a new container by checkpointd" lc rgb "#1f77b4" fs pattern 4 border rgb "#333333", \
     ''       using 17:18:19 title "Podman: by hand, libpod restore?import=true + loopback up" lc rgb "#ff7f0e" fs pattern 4 border rgb "#333333", \
     ''       using ($0 - 3 * w):4:(lbl($2)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 - 2 * w):7:(lbl($5)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 - w):10:(lbl($8)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 + w):13:(lbl($11)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 + 2 * w):16:(lbl($14)) with labels offset 0,0.7 font ",9" notitle, \
     ''       using ($0 + 3 * w):19:(lbl($17)) with labels offset 0,0.7 font ",9" notitle
