"""The ``pyacq`` command line: inspect the installation and run pyacq services."""
import argparse
import logging
import socket
import sys


def _print_nodes(args):
    from pyacq.core.plugins.registry import describe_node_types
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
    from pyacq.core.plugins import list_devices, list_missing_probe_libraries
    devices = list_devices(all_ports=args.all_ports)
    if not devices:
        print("no devices found by the installed plugins")
    for device in devices:
        options = ", ".join(f"{k}={v!r}" for k, v in device.get("configure", {}).items())
        print(f"{device['node_type']}: {device['name']}  configure({options})")
    missing = list_missing_probe_libraries()
    if missing:
        print("not looked for, a library is missing:")
        for sentence in missing:
            print(f"  {sentence}")
    return 0


def _run_demo(args):
    from pyacq.demo import DemoError, run_demo
    try:
        return run_demo(headless=args.headless, screenshots=args.screenshots)
    except DemoError as exc:
        print(f"pyacq demo: {exc}", file=sys.stderr)
        return 1


def _make_keys(args):
    from pyacq.core.rpc.curve import create_keys, load_public_key
    try:
        public_file, secret_file = create_keys(args.directory, args.name)
    except (FileExistsError, ValueError, OSError) as exc:
        print(f"pyacq keys: {exc}", file=sys.stderr)
        return 1
    print(f"public certificate: {public_file}\nsecret certificate: {secret_file} (keep it private)\n"
          f"public key: {load_public_key(public_file).decode()}")
    return 0


def _positive_seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def _version():
    from importlib.metadata import version
    return version("pyacq-core")


def build_parser():
    """The parser of the ``pyacq`` command: each subcommand sets ``run``, the function that executes it.

    ``pyacq host`` is listed for its help text only: :func:`main` hands it to
    ``pyacq.core.distributed.host`` before this parser sees it.
    """
    parser = argparse.ArgumentParser(
        prog="pyacq", description="pyacq: distributed data acquisition and stream processing")
    parser.add_argument("--version", action="version", version=f"pyacq {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "nodes", help="list every installed node type and its distribution (imports none)"
    ).set_defaults(run=_print_nodes)
    devices = commands.add_parser("devices", help="list the devices the installed plugins can see now")
    devices.add_argument("--all-ports", action="store_true",
                         help="offer every serial port, not only those with a known board's USB ids")
    devices.set_defaults(run=_print_devices)
    # Listed for the help text only: main() hands "pyacq host ..." to pyacq.core.distributed.host.
    commands.add_parser("host", help="serve a Host at tcp://IP:PORT: Managers spawn NodeGroups here "
                                     "(--curve-dir DIR: require CURVE authentication)")
    keys = commands.add_parser(
        "keys", help="make a ZeroMQ CURVE certificate: NAME.key (public) and NAME.key_secret in DIR")
    keys.add_argument("directory", metavar="DIR", help="where to write the certificate files")
    keys.add_argument("--name", default=socket.gethostname(),
                      help="name of the certificate files (default: hostname)")
    keys.set_defaults(run=_make_keys)
    demo = commands.add_parser(
        "demo", help="simulated EEG, band-pass filter and live viewers over several processes "
                     "(needs pyacq-devices, pyacq-dsp, pyacq-viewers)")
    demo.add_argument("--headless", type=_positive_seconds, metavar="SECONDS", default=None,
                      help="render offscreen for SECONDS, save screenshots, print rates and gaps "
                           "(default without a display: 10 s)")
    demo.add_argument("--screenshots", metavar="DIR", default=None,
                      help="save a PNG of every window in DIR (headless default: a new temporary "
                           "directory, printed)")
    demo.set_defaults(run=_run_demo)
    return parser


def main(argv=None):
    """Run the ``pyacq`` command line and return its exit status (the console script's entry point).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when the subcommand failed, 2 when no subcommand was given
        (the help is printed).
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["host"]:
        from pyacq.core.distributed.host import main as host_main
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
