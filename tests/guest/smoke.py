#!/usr/bin/python3
"""QMP-driven smoke test of the guest built by build-guest.sh.

Called by smoke-test.sh:  smoke.py GUEST_DIR [vmlinux|vmlinuz]

Boots qemu (TCG, q35) with two pcie-root-ports, rp1 holding a cold-plugged
pci-testdev "t1", then:
  1. waits for MDEVRUN-GUEST-READY on the serial console (boot-to-ready time),
  2. device_add pci-testdev t0 on rp0, waits for the guest's
     "MDEVRUN-GUEST-PCI add" line,
  3. device_del t0 and t1, waits for DEVICE_DELETED (ACPI hot-unplug round trip),
  4. system_powerdown, waits for qemu to exit (guest powered off itself),
  5. boots again and sends system_powerdown the moment READY appears.
Prints timings; exits non-zero on the first failure. Standard library only.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


class Guest:
    def __init__(self, gdir, kernel):
        self.tmp = tempfile.mkdtemp(prefix="mdevrun-guest-")
        self.qmp_path = os.path.join(self.tmp, "qmp.sock")
        with open(os.path.join(gdir, "cmdline")) as f:
            cmdline = f.read().strip()
        self.argv = [
            QEMU, "-accel", "tcg", "-M", "q35", "-m", "256",
            "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", "stdio",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-kernel", os.path.join(gdir, kernel),
            "-initrd", os.path.join(gdir, "initramfs.cpio.gz"),
            "-append", cmdline,
            "-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
            "-device", "pcie-root-port,id=rp1,chassis=2,slot=2",
            "-device", "pci-testdev,id=t1,bus=rp1",
        ]
        self.lines = []          # (monotonic time, serial line)
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read_serial, daemon=True).start()
        self.sock = None
        self.buf = b""
        self.events = []

    def _read_serial(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self.cond:
                self.lines.append((time.monotonic(), line))
                self.cond.notify_all()
            print("  serial| " + line, flush=True)

    def wait_serial(self, needle, timeout, start=0):
        """Wait for a serial line containing needle (at index >= start)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if needle in self.lines[i][1]:
                        return i, self.lines[i][0]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("no %r on serial within %ss" % (needle, timeout))
                self.cond.wait(min(left, 0.2))

    # --- QMP ---------------------------------------------------------------
    def qmp_connect(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.qmp_path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock = s
        self._recv()                     # greeting
        self.cmd("qmp_capabilities")

    def _recv(self, timeout=None):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._recv(30)
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("%s failed: %s" % (name, r["error"]))
            return r["return"]

    def wait_event(self, name, timeout, match=lambda e: True):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == name and match(e):
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no %s event within %ss" % (name, timeout))
            try:
                r = self._recv(left)
            except socket.timeout:
                continue
            if "event" in r:
                self.events.append(r)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def powerdown_at_ready(gdir, kernel):
    """Second boot: system_powerdown the instant READY shows up (the
    power-button watcher must already be listening when READY is printed)."""
    g = Guest(gdir, kernel)
    try:
        g.qmp_connect()
        g.wait_serial("MDEVRUN-GUEST-READY", 120)
        t = time.monotonic()
        g.cmd("system_powerdown")
        rc = g.proc.wait(30)
        assert rc == 0, "qemu exit code %d" % rc
        return time.monotonic() - t
    finally:
        g.kill()


def main():
    gdir = sys.argv[1]
    kernel = sys.argv[2] if len(sys.argv) > 2 else "vmlinux"
    g = Guest(gdir, kernel)
    print("qemu: " + " ".join(g.argv), flush=True)
    try:
        g.qmp_connect()

        # 1. boot to ready
        _, t_ready = g.wait_serial("MDEVRUN-GUEST-READY", 120)
        boot = t_ready - g.t0
        pci = [l for _, l in g.lines if "MDEVRUN-GUEST-PCI-LIST" in l][-1]
        # the cold-plugged pci-testdev t1 sits behind rp1, i.e. not on bus 00
        assert "0000:02:00.0=1b36:0005" in pci.split(), \
            "cold-plugged pci-testdev t1 not seen by the guest: " + pci

        # 2. hot-plug t0
        mark = len(g.lines)
        t = time.monotonic()
        g.cmd("device_add", driver="pci-testdev", id="t0", bus="rp0")
        g.wait_serial("MDEVRUN-GUEST-PCI add", 30, mark)
        plug = time.monotonic() - t

        # 3. hot-unplug t0 (hot-plugged) and t1 (cold-plugged)
        unplug = {}
        for dev in ("t0", "t1"):
            t = time.monotonic()
            g.cmd("device_del", id=dev)
            g.wait_event("DEVICE_DELETED", 30,
                         lambda e, d=dev: e.get("data", {}).get("device") == d)
            unplug[dev] = time.monotonic() - t
        g.wait_serial("MDEVRUN-GUEST-PCI remove", 10, mark)
        devs = [d["qdev_id"] for b in g.cmd("query-pci") for d in b["devices"]]
        assert "t0" not in devs and "t1" not in devs, "devices still present: %s" % devs

        # 4. ACPI power button -> guest powers off -> qemu exits
        t = time.monotonic()
        g.cmd("system_powerdown")
        ev = g.wait_event("SHUTDOWN", 60)
        rc = g.proc.wait(30)
        down = time.monotonic() - t
        assert ev["data"].get("guest") is True, "shutdown not guest-initiated: %s" % ev
        assert rc == 0, "qemu exit code %d" % rc

        g.kill()
        down2 = powerdown_at_ready(gdir, kernel)

        print("RESULT kernel=%s boot_to_ready=%.2fs hotplug_seen=%.3fs "
              "unplug_t0=%.3fs unplug_t1(coldplugged)=%.3fs powerdown_to_exit=%.2fs "
              "powerdown_at_ready=%.2fs"
              % (kernel, boot, plug, unplug["t0"], unplug["t1"], down, down2))
        print("PASS")
        return 0
    except Exception as e:          # noqa: BLE001 - report any failure
        print("FAIL: %s" % e)
        return 1
    finally:
        g.kill()


if __name__ == "__main__":
    sys.exit(main())
