# csp-gdb.py — gdb support for programs using csp, after Go's runtime-gdb.py.
#
#   info goroutines        every live goroutine: id, state, wait reason, creation site
#   goroutine N bt         the backtrace of goroutine N's own stack (N: an id, or all)
#
# Works on a live process and on a core file. Needs libcsp's debug info
# (a build with -g: Meson's debug=true or buildtype=debugoptimized). It
# reads the runtime's structures by name through gdb's type information,
# never by offset, so fields added to the control block do not break it:
#
#   the goroutine registry   csp::detail::(anonymous namespace)::shards()::s,
#                            registry_shards shards (lib/sched/goroutine.cpp),
#                            each a list linked through goroutine::all_next
#   a goroutine              csp::detail::goroutine (lib/sched/goroutine.hpp):
#                            id, state, reason, created_at, running_on,
#                            fiber.ctx (the saved context), stk
#
# A parked goroutine's registers are where Boost.Context's jump_fcontext
# left them, at fiber.ctx on its stack (x86-64 System V: the callee-saved
# registers, then the return address, the stack pointer just past it; the
# layout moved by a word between Boost 1.74 and 1.81, and the one whose
# return address lies in a function is taken). `goroutine N bt` gives the selected thread a Python unwinder
# that unwinds its innermost frame into those registers, walks the frames,
# and removes the unwinder again; nothing in the target is written.
#
# Loading: `meson install` puts this file in <datadir>/csp/csp-gdb.py and,
# for the shared library, in gdb's auto-load directory
# (<datadir>/gdb/auto-load/<libdir>/libcsp.so.VERSION-gdb.py), where gdb
# loads it with the library when the directory is on gdb's safe path
# (`add-auto-load-safe-path`; a /usr install is). Or by hand:
# `source <datadir>/csp/csp-gdb.py`.
import gdb
import gdb.unwinder

_NS = "csp::detail::"
_SHARDS = _NS + "(anonymous namespace)::shards"
_SHARD_COUNT = _NS + "(anonymous namespace)::registry_shards"

# Go's wording of each wait_reason (lib/sched/park.cpp, wait_reason_name).
# A reason added later and missing here shows as its enumerator's name.
_REASONS = {
    "none": "running",
    "chan_receive": "chan receive",
    "chan_send": "chan send",
    "chan_receive_nil": "chan receive (nil chan)",
    "chan_send_nil": "chan send (nil chan)",
    "select": "select",
    "select_no_cases": "select (no cases)",
    "sleep": "sleep",
    "io_wait": "IO wait",
    "mutex_lock": "sync.Mutex.Lock",
    "rwmutex_lock": "sync.RWMutex.Lock",
    "rwmutex_rlock": "sync.RWMutex.RLock",
    "wait_group_wait": "sync.WaitGroup.Wait",
    "cond_wait": "sync.Cond.Wait",
    "semacquire": "semacquire",
    "syscall": "syscall",
}

# Where jump_fcontext saves the callee-saved registers, as offsets from the
# saved context (Boost.Context's x86_64 System V ELF assembly): from 1.76 a
# word for the stack protector follows MXCSR and the x87 control word.
_FCONTEXT_LAYOUTS = [
    # (first of r12, r13, r14, r15, rbx, rbp; then the return address; size)
    (0x10, 0x40, 0x48),  # Boost >= 1.76
    (0x08, 0x38, 0x40),  # Boost 1.74
]
_FCONTEXT_REGS = ("r12", "r13", "r14", "r15", "rbx", "rbp")


class CspGdbError(gdb.GdbError):
    pass


def _field(value, *names):
    """The first of the named members of value (a struct or class),
    looking through base classes; None if it has none of them."""
    t = value.type.strip_typedefs()
    for f in t.fields():
        if f.name in names:
            return value[f.name]
    for f in t.fields():
        if f.is_base_class:
            found = _field(value[f], *names)
            if found is not None:
                return found
    return None


def _atomic(value):
    """The value inside a libstdc++ std::atomic<T> (its _M_i or _M_p, in
    whatever base holds it); value itself when it is no atomic."""
    for _ in range(4):
        t = value.type.strip_typedefs()
        if t.code != gdb.TYPE_CODE_STRUCT or not (t.tag or "").startswith(("std::atomic", "std::__atomic")):
            return value
        inner = _field(value, "_M_i", "_M_p")
        if inner is None:
            inner = _field(value, "_M_b")
        if inner is None:
            return value
        value = inner
    return value


def _enum_name(value):
    """The enumerator's own name: "waiting" for csp::detail::gstate::waiting."""
    return str(value).rsplit("::", 1)[-1]


def _string(ptr):
    try:
        return ptr.string() if int(ptr) != 0 else ""
    except gdb.error:
        return "?"


def _site(loc):
    """file:line in function, from a std::source_location or csp's stand-in."""
    impl = _field(loc, "_M_impl")
    if impl is not None:  # libstdc++: a pointer to a static __impl
        if int(impl) == 0:
            return "?"
        loc = impl.dereference()
    file = _field(loc, "_M_file_name", "file_")
    func = _field(loc, "_M_function_name", "function_")
    line = _field(loc, "_M_line", "line_")
    if file is None or line is None:
        return "?"
    return "%s:%d in %s" % (_string(file), int(line), _string(func) if func is not None else "?")


def _registry():
    """The registry's shards: (pointer to the first, count)."""
    sym = gdb.lookup_static_symbol(_SHARDS)
    if sym is None:
        raise CspGdbError("csp: no %s() in the program: is libcsp loaded, and built with -g?" % _SHARDS)
    shards = None
    block = gdb.block_for_pc(int(sym.value().address))
    while block is not None and shards is None:
        for s in block:
            if s.name == "s" and s.is_variable:
                shards = s.value()
                break
        if block.function is not None:
            break
        block = block.superblock
    if shards is None:  # shards() inlined everywhere: its static is still a symbol
        t = gdb.lookup_type(_NS + "registry_shard<csp::detail::goroutine>").pointer()
        shards = gdb.parse_and_eval("*(%s*)&'%s()::s'" % (t, _SHARDS))
    count = gdb.lookup_static_symbol(_SHARD_COUNT)
    return shards, int(count.value()) if count is not None else 64


def goroutines():
    """Every goroutine in the registry, as gdb values of csp::detail::goroutine."""
    shards, count = _registry()
    if int(shards) == 0:
        return []  # the runtime never started a goroutine
    out = []
    for i in range(count):
        g = shards[i]["head"]
        seen = 0
        while int(g) != 0:
            out.append(g.dereference())
            g = g["all_next"]
            seen += 1
            if seen > 10_000_000:
                raise CspGdbError("csp: registry shard %d does not end (corrupt memory?)" % i)
    out.sort(key=lambda g: int(g["id"]))
    return out


def _describe(g):
    """(id, state, wait reason, created at) of one goroutine."""
    state = _enum_name(_atomic(g["state"]))
    reason = "-"
    if state == "waiting":
        name = _enum_name(_atomic(_field(g, "reason")))
        reason = _REASONS.get(name, name)
    elif state == "running":
        on = _field(g, "running_on")
        if on is not None:
            reason = "on worker %d" % int(_atomic(on))
    return int(g["id"]), state, reason, _site(g["created_at"])


class InfoGoroutines(gdb.Command):
    """info goroutines: every live csp goroutine: id, state, wait reason, where it was created."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        rows = [_describe(g) for g in goroutines()]
        if not rows:
            print("No goroutines.")
            return
        w = max(len(r[2]) for r in rows)
        print("%6s  %-9s %-*s  %s" % ("Id", "State", w, "Wait reason", "Created at"))
        for gid, state, reason, site in rows:
            print("%6d  %-9s %-*s  %s" % (gid, state, w, reason, site))


class _GoroutineUnwinder(gdb.unwinder.Unwinder):
    """Unwinds the selected thread's innermost frame into a parked
    goroutine's saved registers, while a `goroutine N bt` runs."""

    def __init__(self):
        super().__init__("csp-goroutine")
        self.frame0 = None  # (sp, pc) of the frame to replace
        self.regs = None    # register name -> value for the frame above it
        self.frame0_id_sp = 0

    def __call__(self, pending_frame):
        if self.regs is None:
            return None
        sp = int(pending_frame.read_register("rsp"))
        pc = int(pending_frame.read_register("rip"))
        if (sp, pc) != self.frame0:
            return None

        class FrameId:
            def __init__(self, sp, pc):
                self.sp, self.pc = sp, pc

        # The frame's id gets a stack address just below the goroutine's
        # frames: gdb stops a backtrace whose next frame lies inner to
        # (below) the one before, and the goroutine's stack may lie below
        # the thread's.
        void_p = gdb.lookup_type("void").pointer()
        info = pending_frame.create_unwind_info(
            FrameId(gdb.Value(self.frame0_id_sp).cast(void_p), pending_frame.read_register("rip")))
        for name, value in self.regs.items():
            info.add_saved_register(name, value)
        return info


_unwinder = _GoroutineUnwinder()


def _saved_registers(g):
    ctx = int(_field(g["fiber"], "ctx"))
    if ctx == 0:
        return None
    u64 = gdb.lookup_type("unsigned long").pointer()
    void_p = gdb.lookup_type("void").pointer()
    word = lambda addr: gdb.Value(addr).cast(u64).dereference()
    for first, rip, size in _FCONTEXT_LAYOUTS:
        pc = int(word(ctx + rip))
        if gdb.current_progspace().block_for_pc(pc) is None:
            continue  # not a return address: the other layout
        regs = {name: word(ctx + first + 8 * i) for i, name in enumerate(_FCONTEXT_REGS)}
        regs["rip"] = word(ctx + rip).cast(void_p)
        regs["rsp"] = gdb.Value(ctx + size).cast(void_p)
        return regs
    return None


def _print_frames(first, limit):
    n = 0
    f = first
    while f is not None and f.pc() != 0 and (limit is None or n < limit):
        sal = f.find_sal()
        name = f.name() or "??"
        where = ""
        if sal.symtab is not None:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        elif f.pc():
            lib = gdb.solib_name(f.pc())
            where = " from %s" % lib if lib else ""
        print("#%-3d 0x%016x in %s%s" % (n, f.pc(), name, where))
        n += 1
        try:
            f = f.older()
        except gdb.error as e:
            print("(backtrace stopped: %s)" % e)
            break


def backtrace(g, limit=None):
    gid, state, reason, site = _describe(g)
    print("goroutine %d [%s%s], created at %s:" % (
        gid, state, "" if reason == "-" else ": " + reason, site))
    if state == "running":
        print("  running: its stack is its worker thread's; see `info threads` and `thread N`, `bt`")
        return
    if not _field(g["stk"], "bottom") or int(_field(g["stk"], "bottom")) == 0:
        print("  not started yet: no stack")
        return
    regs = _saved_registers(g)
    if regs is None:
        print("  no saved context")
        return
    arch = gdb.selected_frame().architecture().name()
    if "x86-64" not in arch:
        raise CspGdbError("csp: goroutine backtraces know only x86-64's context layout, not %s" % arch)
    newest = gdb.newest_frame()
    while newest.type() == gdb.INLINE_FRAME and newest.older() is not None:
        newest = newest.older()  # the real frame the unwinder sees
    selected = gdb.selected_frame()
    _unwinder.frame0 = (int(newest.read_register("rsp")), int(newest.read_register("rip")))
    _unwinder.regs = regs
    _unwinder.frame0_id_sp = int(regs["rsp"]) - 8
    gdb.invalidate_cached_frames()
    try:
        first = gdb.newest_frame()
        while first is not None and first.type() == gdb.INLINE_FRAME:
            first = first.older()
        _print_frames(first.older() if first is not None else None, limit)
    finally:
        _unwinder.regs = None
        _unwinder.frame0 = None
        gdb.invalidate_cached_frames()
        try:
            selected.select()
        except gdb.error:
            gdb.newest_frame().select()


class Goroutine(gdb.Command):
    """goroutine N bt [LIMIT]: the backtrace of goroutine N's stack.
goroutine all bt [LIMIT]: the same for every goroutine."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        if len(words) not in (2, 3) or words[1] not in ("bt", "backtrace"):
            raise CspGdbError("usage: goroutine N bt [LIMIT]   or   goroutine all bt [LIMIT]")
        limit = int(words[2]) if len(words) == 3 else None
        gs = goroutines()
        if words[0] != "all":
            try:
                gid = int(words[0])
            except ValueError:
                raise CspGdbError("goroutine: %r is not a goroutine id" % words[0])
            gs = [g for g in gs if int(g["id"]) == gid]
            if not gs:
                raise CspGdbError("goroutine: no goroutine %d (`info goroutines` lists them)" % gid)
        for i, g in enumerate(gs):
            if i:
                print()
            backtrace(g, limit)


def _register():
    # replace: loaded twice (auto-loaded, then sourced), the newest wins.
    gdb.unwinder.register_unwinder(None, _unwinder, replace=True)
    InfoGoroutines()
    Goroutine()


_register()
