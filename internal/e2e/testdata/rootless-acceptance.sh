#!/bin/sh
# Runs as root inside a pivot_root'ed bookworm tree where the stack is
# installed: the README's per-user steps, then real containers. Prints
# "STEP <name> <seconds>" after each step.
set -eu
PORT=18080
last=$(date +%s.%N)
step() {
	now=$(date +%s.%N)
	printf 'STEP %s %.2f\n' "$1" "$(echo "$now - $last" | bc 2>/dev/null || awk "BEGIN{print $now - $last}")"
	last=$now
}
as_user() { runuser -l alice -c "$1"; }
# On failure, show the daemons' logs.
trap 'rc=$?; if [ $rc -ne 0 ]; then for f in /home/alice/.local/state/rootless-containerd/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 25 "$f"; }; done; fi' EXIT

# --- the admin's part ---
useradd -m -s /bin/sh alice
rootless-containerd-setup enable-user alice
rootless-containerd-setup enable-user alice | grep -q "nothing changed"
step enable-user

# --- a local image from busybox-static (no registry is reachable) ---
img=/tmp/img
mkdir -p $img/layer/bin $img/layer/www $img/ctx
cp /bin/busybox $img/layer/bin/busybox
for a in sh echo ip hostname httpd cat sleep; do ln -s busybox $img/layer/bin/$a; done
echo "served by rootless nerdctl" >$img/layer/www/index.html
tar -C $img/layer -cf $img/layer.tar .
diff=$(sha256sum $img/layer.tar | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >$img/config.json
cfg=$(sha256sum $img/config.json | cut -d' ' -f1)
mv $img/config.json $img/$cfg.json
printf '[{"Config":"%s.json","RepoTags":["local/busybox:latest"],"Layers":["layer.tar"]}]' "$cfg" >$img/manifest.json
tar -C $img -cf /tmp/busybox.tar manifest.json "$cfg.json" layer.tar
cp /bin/busybox $img/ctx/busybox
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "built by buildkit"]\n' >$img/ctx/Dockerfile
chmod -R a+rX $img /tmp/busybox.tar
step image

# --- the user's part, exactly as the README says ---
as_user "rootless-containerd-setup install"
step install
as_user "rootless-containerd-setup doctor" || true
as_user "nerdctl load -i /tmp/busybox.tar"
step load
out=$(as_user "nerdctl run --rm --net none local/busybox echo hello")
[ "$out" = hello ] || { echo "run printed: $out"; exit 1; }
step run
addr=$(as_user "nerdctl run --rm local/busybox ip -4 -o addr show eth0")
echo "$addr" | grep -q "inet 10\.4\.0\." || { echo "no bridge address: $addr"; exit 1; }
step bridge
as_user "nerdctl run -d --name web -p 127.0.0.1:$PORT:8080 local/busybox httpd -f -p 8080 -h /www"
n=0
until body=$(curl -fsS "http://127.0.0.1:$PORT/"); do
	n=$((n + 1))
	[ $n -lt 50 ] || { echo "port $PORT never answered"; exit 1; }
	sleep 0.2
done
[ "$body" = "served by rootless nerdctl" ] || { echo "curl got: $body"; exit 1; }
as_user "nerdctl rm -f web"
step port
as_user "cd /tmp/img/ctx && nerdctl build -t local/built ."
out=$(as_user "nerdctl run --rm --net none local/built")
[ "$out" = "built by buildkit" ] || { echo "built image printed: $out"; exit 1; }
step build

# --- tear down ---
as_user "rootless-containerd-setup uninstall --purge"
if pgrep -u alice >/dev/null; then
	echo "alice still runs:"; ps -u alice -o pid,cmd
	exit 1
fi
userdel -r alice 2>/dev/null
step teardown
echo ACCEPTANCE-OK
