package io.socketlauncher.bpf.hold;

import io.socketlauncher.sys.BpfLink;
import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Bpffs;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * hold.bpf.o loaded and attached to the TC ingress of one interface as a TCX link, in front of any other TC
 * programs there (none of them can end the chain before it on a held flow; what it leaves alone it passes on to
 * them). Construct and close it on a thread inside the interface's network namespace: the interface index is
 * looked up, the link attached and its pin named in the caller's namespace.
 *
 * <p>The link is pinned in bpffs (at /sys/fs/bpf, mounted if it is not; if it can't be, a warning says so) while this object is open,
 * so that a server killed while it holds flows keeps them silent: their segments still go to its (dead) TUN and
 * are lost, the client retransmits them to wherever the source points the flow back, instead of the kernel
 * answering them with a reset for want of a socket. The
 * pin's name says which process owns it; the next hold program attached in the same namespace detaches and
 * unpins those whose process is gone, so a restarted server attaches anew and nothing stale stays in the chain (a
 * stale program would black-hole a flow it held if the flow came back here later). That ends the silence of a
 * killed server's held flows only when a server restarts in its namespace: a source rolls its flow back as soon as
 * its connection to the dead target breaks, in milliseconds, while a restart takes a JVM's start-up at least;
 * any attach also unpins those of a gone process whose namespace is gone too (litter of a crash).
 */
public final class HoldProgram implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HoldProgram.class.getName());
    /** On bpffs as this process's mount namespace sees it: {@link Bpffs} mounts none under {@code ip netns exec}. */
    private static final Path PINS = Path.of("/sys/fs/bpf/socketlauncher-hold");
    private static final AtomicLong SEQUENCE = new AtomicLong();

    private final BpfObject object;
    private final BpfLink link;
    /** Null if bpffs was not available. */
    private final Path pin;
    private final HoldFlows flows;
    private boolean closed;

    private HoldProgram(BpfObject object, BpfLink link, Path pin) {
        this.object = object;
        this.link = link;
        this.pin = pin;
        this.flows = new HoldFlows(object.map("hold_flows"), object.map("hold_diverted"), object.map("hold_released"));
    }

    public static HoldProgram attach(String interfaceName) throws IOException {
        int ifindex = Libc.ifNameToIndex(interfaceName);
        String namespace = namespaceId();
        detachStale(namespace);
        ProcessHandle self = ProcessHandle.current();
        Path pin = PINS.resolve(namespace + "-" + ifindex + "-" + self.pid() + "-" + startMillis(self).orElse(0L) + "-"
                + SEQUENCE.incrementAndGet());
        BpfObject object = BpfObject.openResource(BpfObject.class, "/bpf/hold.bpf.o");
        BpfLink link = null;
        boolean pinned = false;
        try {
            object.load();
            link = object.program("sl_hold_ingress").attachTcx(ifindex, BpfProgram.TCX_INGRESS, BpfProgram.TcxPosition.FIRST);
            try {
                Bpffs.ensureMounted(PINS);
                Files.createDirectories(PINS);
                link.pin(pin.toString());
                pinned = true;
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "hold program on " + interfaceName + " not pinned (" + e.getMessage()
                        + "): if this process is killed, the kernel resets the flows it holds");
            }
            return new HoldProgram(object, link, pinned ? pin : null);
        } catch (IOException | RuntimeException e) {
            try {
                if (pinned) Files.deleteIfExists(pin);
                if (link != null) link.close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            object.close();
            throw e;
        }
    }

    /**
     * Detaches and unpins the hold programs of this thread's network namespace whose process is gone (killed
     * without closing them). {@link #attach} does it first; a test that kills a server calls it to leave nothing.
     */
    public static void detachStale() throws IOException {
        detachStale(namespaceId());
    }

    private static void detachStale(String namespace) throws IOException {
        if (!Files.isDirectory(PINS)) return;
        Set<String> namespaces = null;
        try (DirectoryStream<Path> pins = Files.newDirectoryStream(PINS)) {
            for (Path p : pins) {
                String[] parts = p.getFileName().toString().split("-");
                long ownerPid, ownerStart;
                try {
                    if (parts.length != 5) throw new NumberFormatException("not five fields");
                    ownerPid = Long.parseLong(parts[2]);
                    ownerStart = Long.parseLong(parts[3]);
                } catch (NumberFormatException e) {
                    // Not one of ours: left alone, and no reason to keep every hold plane from starting.
                    LOG.log(System.Logger.Level.WARNING, "unexpected pin " + p + " left alone: " + e.getMessage());
                    continue;
                }
                if (ownerAlive(ownerPid, ownerStart)) continue;
                if (!parts[0].equals(namespace)) {
                    // Another namespace's: its server may have been killed moments ago and its hold must stay. Only
                    // once the namespace itself is gone (its interfaces with it, so the link is defunct) is the pin
                    // just litter, left by a process that crashed before its testbed or deployment was torn down.
                    if (namespaces == null) namespaces = liveNamespaces();
                    if (namespaces.contains(parts[0])) continue;
                }
                try (BpfLink stale = BpfLink.openPinned(p.toString())) {
                    stale.detach();
                } catch (NativeException e) {
                    // already defunct (its interface is gone): unpinning below is all that is left to do
                }
                Files.deleteIfExists(p);
            }
        }
    }

    private static boolean ownerAlive(long pid, long startMillis) {
        Optional<ProcessHandle> owner = ProcessHandle.of(pid);
        return owner.isPresent() && startMillis(owner.get()).orElse(0L) == startMillis;
    }

    private static Optional<Long> startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli);
    }

    /** Network namespaces that exist: those of running processes and those bind-mounted by name (ip netns). */
    private static Set<String> liveNamespaces() throws IOException {
        Set<String> live = new HashSet<>();
        try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), name -> name.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path process : processes) {
                // Every thread: a namespace may be held only by threads that entered it (setns), as this project's own.
                try (DirectoryStream<Path> tasks = Files.newDirectoryStream(process.resolve("task"))) {
                    for (Path task : tasks) live.add(inode(Files.readSymbolicLink(task.resolve("ns/net")).toString()));
                } catch (IOException e) {
                    // the process or thread ended meanwhile, or is not ours to look at
                }
            }
        }
        Path named = Path.of("/run/netns");
        if (Files.isDirectory(named)) {
            try (DirectoryStream<Path> mounts = Files.newDirectoryStream(named)) {
                for (Path mount : mounts) live.add(String.valueOf(Files.getAttribute(mount, "unix:ino")));
            }
        }
        return live;
    }

    /** The inode of the calling thread's network namespace, which names it while it exists. */
    private static String namespaceId() throws IOException {
        return inode(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
    }

    private static String inode(String target) throws IOException { // net:[4026532]
        int open = target.indexOf('['), close = target.indexOf(']');
        if (open < 0 || close < open) throw new IOException("unexpected network namespace link " + target);
        return target.substring(open + 1, close);
    }

    public HoldFlows flows() {
        return flows;
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        try {
            if (pin != null) Files.deleteIfExists(pin);
        } finally {
            try {
                link.close();
            } finally {
                object.close();
            }
        }
    }
}
