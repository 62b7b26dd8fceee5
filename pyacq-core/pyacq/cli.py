"""The ``pyacq`` command line: inspect the installation and run pyacq services."""
import argparse
import logging
import sys


def _print_nodes(args):
    from pyacq.core.registry import describe_node_types
    rows = [(name, dist or "-", value) for name, (dist, value) in describe_node_types().items()]
    if not rows:
        print("no node types installed")
        return 0
    header = ("node type", "distribution", "class")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(2)]
    for name, dist, value in [header, *rows]:
        print(f"{name:<{widths[0]}}  {dist:<{widths[1]}}  {value}")
    return 0


def _print_devices(args):
    from pyacq.core.plugins import list_devices
    devices = list_devices()
    if not devices:
        print("no devices found by the installed plugins")
        return 0
    for device in devices:
        options = ", ".join(f"{k}={v!r}" for k, v in device.get("configure", {}).items())
        print(f"{device['node_type']}: {device['name']}  configure({options})")
    return 0


def _run_demo(args):
    from pyacq.demo import run_demo
    _, gaps = run_demo(duration=args.duration, nb_channel=args.channels, sample_rate=args.rate,
                       transfermode=args.transfermode)
    return 1 if gaps else 0


def _version():
    from importlib.metadata import version
    return version("pyacq-core")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="pyacq", description="pyacq: distributed data acquisition and stream processing")
    parser.add_argument("--version", action="version", version=f"pyacq {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "nodes", help="list every installed node type and its distribution (imports none)"
    ).set_defaults(run=_print_nodes)
    commands.add_parser(
        "devices", help="list the devices the installed plugins can see now"
    ).set_defaults(run=_print_devices)
    # Listed for the help text only: main() hands "pyacq host ..." to pyacq.core.host.
    commands.add_parser("host", help="serve a Host at tcp://IP:PORT: Managers spawn NodeGroups here")
    demo = commands.add_parser(
        "demo", help="stream a simulated amplifier into a live printout (needs pyacq-devices)")
    demo.add_argument("--duration", type=float, default=5.0, help="seconds to run (default 5)")
    demo.add_argument("--channels", type=int, default=8, help="number of channels (default 8)")
    demo.add_argument("--rate", type=float, default=1000.0, help="sample rate in Hz (default 1000)")
    demo.add_argument("--transfermode", choices=["plaindata", "sharedmem"], default="plaindata")
    demo.set_defaults(run=_run_demo)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["host"]:
        from pyacq.core.host import main as host_main
        return host_main(argv[1:])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
