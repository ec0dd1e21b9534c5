# Installed by rootless-containerd-setup.
#
# nerdctl runs iptables (for -p and the CNI bridge), which lives in
# /usr/sbin; Debian 12 leaves sbin out of users' PATH (Debian 13 has it).
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH="$PATH:/usr/sbin:/sbin" ;;
esac
export PATH

# Where systemd-logind does not provide XDG_RUNTIME_DIR (no systemd:
# containers, WSL, minimal hosts), use /run/user/UID when it exists and
# belongs to the user, so that nerdctl finds the user's rootless
# containerd. Hosts with systemd are left alone.
if [ -z "${XDG_RUNTIME_DIR:-}" ] && [ ! -d /run/systemd/system ] &&
	[ -d "/run/user/$(id -u)" ] && [ -O "/run/user/$(id -u)" ]; then
	XDG_RUNTIME_DIR="/run/user/$(id -u)"
	export XDG_RUNTIME_DIR
fi
