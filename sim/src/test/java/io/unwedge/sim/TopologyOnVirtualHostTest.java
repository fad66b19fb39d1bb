package io.unwedge.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.host.procfs.HolderScan;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Topology is host code; it is tested against the virtual host's tree, which is what it reads in the field too. */
class TopologyOnVirtualHostTest {

    @TempDir Path dir;

    static WedgedEvent wedged(String devpath) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("SEQNUM", "77");
        var r = WedgedEvent.recognise(Uevent.of("change", devpath, f));
        return ((WedgedEvent.Wedged) r).event();
    }

    @Test
    void resolvesACardBehindASwitchToItsFunctionDriverAndMinors() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var r = topology.resolve(wedged(host.gpus().get(1).devpath() + "/drm/card1"));
        assertThat(r).isInstanceOf(Topology.Resolution.Found.class);
        var d = ((Topology.Resolution.Found) r).device();
        assertThat(d.card()).isEqualTo("card1");
        assertThat(d.bdf()).hasToString("0000:06:00.0");
        assertThat(d.driver()).contains("xe");
        assertThat(d.minors()).containsExactly("card1", "renderD129");
        assertThat(d.sysPath()).isEqualTo("devices/pci0000:00/0000:00:01.1/0000:04:00.0/0000:05:01.0/0000:06:00.0");
    }

    @Test
    void anAccelNodeIsOneOfTheDevicesNodesAndItsHoldersAreTheDevicesHolders() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var fn = host.sys().resolve(host.gpus().get(1).devpath().substring(1));
        // as the accel class lays it out: <function>/accel/accelN beside <function>/drm, the node in /dev/accel
        Files.createDirectories(fn.resolve("accel/accel0"));
        Files.writeString(fn.resolve("accel/accel0/dev"), "261:0\n");
        Files.createDirectories(fn.resolve("accel/accel-junk"));
        Path accel = Files.writeString(Files.createDirectories(host.dev().resolve("accel")).resolve("accel0"), "x");
        var topology = new Topology(new Sysfs(host.sys()));
        var d = topology.byBdf(host.gpus().get(1).bdf()).orElseThrow();
        assertThat(d.minors()).containsExactly("accel0", "card1", "renderD129");
        assertThat(d.card()).isEqualTo("card1");
        assertThat(topology.cards()).extracting(GpuDevice::card).containsExactly("card0", "card1");
        assertThat(HolderScan.Target.nodes(d, new Sysfs(host.sys()), host.dev())).contains(accel);
        // a minor no longer under its function (unbound, or bound again under other numbers) is not its node any
        // more: another GPU may have that name now
        try (var tree = Files.walk(host.sys().resolve(d.sysPath()).resolve("drm/renderD129"))) {
            for (var p : tree.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        assertThat(HolderScan.Target.nodes(d, new Sysfs(host.sys()), host.dev())).contains(accel, host.dev().resolve("dri/card1"))
                .doesNotContain(host.dev().resolve("dri/renderD129"));

        Path proc = Files.createDirectories(dir.resolve("proc"));
        for (var pid : List.of(300, 301)) {
            Path p = Files.createDirectories(proc.resolve(pid.toString()));
            Files.writeString(p.resolve("comm"), "npu-job\n");
            Files.writeString(p.resolve("cmdline"), "npu-job\0");
            Files.writeString(p.resolve("status"), "Uid:\t0\t0\t0\t0\n");
            Files.writeString(p.resolve("cgroup"), "0::/\n");
            Files.writeString(p.resolve("maps"), "");
            Files.createDirectories(p.resolve("fdinfo"));
            Files.createDirectories(p.resolve("fd"));
        }
        Files.createSymbolicLink(proc.resolve("300/fd/5"), accel);
        Files.writeString(proc.resolve("300/fdinfo/5"), "drm-driver:\txe\ndrm-client-id:\t3\ndrm-pdev:\t0000:06:00.0\n");
        Files.createSymbolicLink(proc.resolve("301/fd/5"), host.dev().resolve("dri/card0"));
        var target = HolderScan.Target.of(d, topology.sysfs(), host.dev());
        var holders = new HolderScan(proc).scan(target);
        assertThat(holders.pids()).containsExactly(300);
        assertThat(holders.holders().getFirst().fds()).singleElement().satisfies(f -> {
            assertThat(f.path()).isEqualTo(accel.toString());
            assertThat(f.client()).hasValueSatisfying(c -> assertThat(c.clientId()).isEqualTo(3));
        });
    }

    @Test
    void listsCardsNotConnectorsRenderNodesOrTheVersionFileAndCountsPastTen() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 3, GpuModel.I915, 9);
        var topology = new Topology(new Sysfs(host.sys()));
        assertThat(topology.cards()).extracting(GpuDevice::card).containsExactly("card9", "card10", "card11");
        var r = topology.resolve(wedged(host.gpus().get(2).devpath() + "/drm/card11"));
        assertThat(((Topology.Resolution.Found) r).device().cardIndex()).isEqualTo(11);
    }

    @Test
    void aCardThatIsNotThereIsGone() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        assertThat(topology.resolve(wedged(host.gpus().get(0).devpath() + "/drm/card5"))).isInstanceOf(Topology.Resolution.Gone.class);
        assertThat(topology.resolve(wedged("/devices/pci0000:00/0000:00:09.0/0000:09:00.0/drm/card0"))).isInstanceOf(Topology.Resolution.Gone.class);
    }

    @Test
    void aDevpathThatResolvesOutsideDevicesIsInvalid() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        // a hostile tree: a BDF-named link under devices/ that leads out of it
        Path outside = Files.createDirectories(dir.resolve("elsewhere/0000:0a:00.0/drm/card3"));
        Files.createSymbolicLink(host.sys().resolve("devices/pci0000:00/0000:0a:00.0"), outside.getParent().getParent());
        var topology = new Topology(new Sysfs(host.sys()));
        var r = topology.resolve(wedged("/devices/pci0000:00/0000:0a:00.0/drm/card3"));
        assertThat(r).isInstanceOf(Topology.Resolution.Invalid.class);
        assertThat(((Topology.Resolution.Invalid) r).reason()).contains("outside");
    }

    @Test
    void bindStateIsReadFromTheDriverLink() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var bdf = host.gpus().get(0).bdf();
        assertThat(topology.isUp(bdf)).isTrue();
        assertThat(topology.isUnbound(bdf)).isFalse();
        host.detach(host.gpus().get(0));
        assertThat(topology.isUp(bdf)).isFalse();
        assertThat(topology.isUnbound(bdf)).isTrue();
        assertThat(topology.byBdf(bdf)).isEmpty();
        assertThat(topology.cards()).isEmpty();
    }

    @Test
    void aGpusSlotIsFoundByWalkingUpItsBridgesAsTheColdResetScriptDoes() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var gpu = topology.cards().get(1);
        Path slots = host.sys().resolve("bus/pci/slots");
        // the GPU's own address is in no slot: the slot holds the card's switch
        assertThat(slotWhoseAddressPrefixes(slots, gpu.bdf().toString())).isNull();
        String found = null;
        for (Path p = topology.functionDir(gpu.bdf()).orElseThrow(); found == null && p.getFileName().toString().matches("[0-9a-f]{4}:.*"); p = p.getParent()) {
            found = slotWhoseAddressPrefixes(slots, p.getFileName().toString());
        }
        assertThat(found).isEqualTo("2");
        assertThat(host.slotDir(host.gpus().get(1))).contains(slots.resolve("2"));
        // the audio function is no card: Topology does not list it
        assertThat(topology.cards()).extracting(d -> d.bdf().toString()).containsExactly("0000:03:00.0", "0000:06:00.0");
    }

    private static String slotWhoseAddressPrefixes(Path slots, String bdf) throws Exception {
        try (var s = Files.list(slots)) {
            for (Path slot : s.toList()) {
                if (bdf.startsWith(Files.readString(slot.resolve("address")).strip() + ".")) return slot.getFileName().toString();
            }
        }
        return null;
    }
}
