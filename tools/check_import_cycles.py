"""Fail when the ``pyacq`` modules of the four distributions import one another in a cycle.

A cycle makes the import order matter (whichever module is imported first sees
the other half-initialised) and ties modules that should be layers. An import
inside a function closes a cycle as surely as one at the top of a module, it
only postpones it: every ``import`` statement counts, wherever it is. Names
are read with :mod:`ast`, nothing is imported, so the check needs no
installed distribution.

Each cycle is reported as the modules of one strongly connected component of
the import graph, with the import statements that join them. Run from the
repository root::

    python tools/check_import_cycles.py

The exit status is 0 when there is no cycle, 1 otherwise.
"""
import ast
import sys
from pathlib import Path

#: The directories holding each distribution's ``pyacq`` package.
DISTRIBUTIONS = ("pyacq-core", "pyacq-devices", "pyacq-dsp", "pyacq-viewers")


def module_files(root):
    """``{module name: path}`` of every Python file under the ``pyacq`` packages of *root*."""
    modules = {}
    for distribution in DISTRIBUTIONS:
        base = Path(root, distribution)
        for path in sorted(Path(base, "pyacq").rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(tree, module, is_package, modules):
    """``(line, target)`` for every module of *modules* that an ``import`` of *tree* asks for.

    ``import X.Y`` asks for ``X.Y``; ``from X import a`` for ``X.a`` when that
    is a module, else for ``X`` (``a`` is a name defined there). A name that is
    not a module stands for the longest module enclosing it
    (``pyacq.core.rpc.log.LogSender`` is ``pyacq.core.rpc.log``). Relative
    imports are resolved against *module*.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield node.lineno, name


def import_graph(modules):
    """``{module: {imported module: [line, ...]}}`` of the imports among *modules*."""
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = graph.setdefault(module, {})
        for line, target in imported_modules(tree, module, path.name == "__init__.py", modules):
            edges.setdefault(target, []).append(line)
    return graph


def strongly_connected_components(graph):
    """The components of more than one module, each a sorted list (Tarjan, iterative)."""
    index, lowlink, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def describe(component, graph, modules, root):
    """Lines naming the import statements that join the modules of *component*."""
    lines = []
    for module in component:
        path = modules[module].relative_to(root)
        for target in sorted(set(graph[module]) & set(component)):
            where = ", ".join(str(line) for line in sorted(set(graph[module][target])))
            lines.append(f"    {module} -> {target}  ({path}:{where})")
    return lines


def find_cycles(root):
    """``(modules, graph, components)`` of the ``pyacq`` packages under *root* (see above)."""
    modules = module_files(root)
    graph = import_graph(modules)
    return modules, graph, strongly_connected_components(graph)


def main(root="."):
    """Print every cycle under *root*; return the exit status (see the module docstring)."""
    root = Path(root).resolve()
    modules, graph, components = find_cycles(root)
    for component in components:
        print(f"IMPORT CYCLE: {', '.join(component)}")
        print("\n".join(describe(component, graph, modules, root)))
    failed = bool(components)
    print(f"{len(modules)} modules, {len(components)} import cycle(s), "
          f"{'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
