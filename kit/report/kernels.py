"""Jupyter kernels for the report's notebooks: started quietly, and reused from one notebook to the next.

A report's notebooks import the same heavy modules (pandas, Ibis, DuckDB, matplotlib, seaborn,
statsmodels) and read the same shared tables, so a kernel per notebook paid its start-up and those
imports four times over: about a fifth of a report's CPU time. A :class:`KernelLane` keeps one kernel
and executes notebooks on it one after another. Before every notebook but its first, the kernel's
namespace, history, execution count and open figures are reset (IPython's ``reset``),
matplotlib's settings restored to their defaults and the working directory set back to the
notebook's folder, so a notebook sees nothing the one before it defined; only imported modules
(with any state a module keeps) and the kit's caches (keyed by the data, see
:mod:`kit.report.shared`) carry over.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..deps import require

#: Set in every notebook kernel's environment (not in this process): no debugger noise in the logs.
KERNEL_ENV = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}
#: The papermill engine that runs notebooks on a lane's kernel (registered on first use).
ENGINE = "kit-lane"
#: Run silently in a used kernel before its next notebook: what a fresh kernel would have.
RESET_CODE = """\
get_ipython().reset(new_session=True)
import sys as _sys
if "matplotlib.pyplot" in _sys.modules:
    import matplotlib as _mpl
    _sys.modules["matplotlib.pyplot"].close("all")
    _mpl.rcdefaults()
    del _mpl
del _sys
"""


@functools.lru_cache(maxsize=8)
def kernel_manager(env: tuple[tuple[str, str], ...] = ()):
    """A kernel manager class that starts each kernel with :data:`KERNEL_ENV` and ``env`` in its environment."""
    from jupyter_client.manager import AsyncKernelManager

    class KitKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), **KERNEL_ENV, **dict(env)}
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts (SIGINT) every kernel it shuts down; a kernel that is still
            # answering a message then logs "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel"
            # on our stderr. A finished notebook has nothing to interrupt, and the shutdown request
            # (then SIGTERM/SIGKILL) stops the kernel all the same.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return KitKernelManager


@functools.lru_cache(maxsize=1)
def _register_engine() -> None:
    """Register :data:`ENGINE` with papermill: nbclient on a kernel the lane owns, reset before reuse."""
    from jupyter_core.utils import run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from traitlets import Bool

    class LaneClient(PapermillNotebookClient):
        kit_reset = Bool(False, help="reset the kernel's namespace before the first cell").tag(config=True)

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            if self.kit_reset:
                code = RESET_CODE
                folder = (self.resources or {}).get("metadata", {}).get("path")
                if folder:  # the folder a fresh kernel starts in, whatever the notebook before chdir'ed to
                    code += f"import os as _os\n_os.chdir({str(folder)!r})\ndel _os\n"
                reply = await self.async_wait_for_reply(kc.execute(code, silent=True, store_history=False))
                if reply is None or reply["content"].get("status") != "ok":
                    content = (reply or {}).get("content", {})
                    raise RuntimeError(f"could not reset the kernel: {content.get('ename')}: {content.get('evalue')}")
            return kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)

        def execute(self, **kwargs):
            try:
                return super().execute(**kwargs)
            finally:  # nbclient leaves the client of a kernel it does not own running: close its channels
                if not self.owns_km and self.kc is not None:
                    self.kc.stop_channels()
                    self.kc = None

    class LaneEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man, kernel_name, log_output=False, start_timeout=60, execution_timeout=None, **kwargs
        ):
            kwargs.pop("input_path", None)
            return LaneClient(
                nb_man,
                kernel_name=kernel_name,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                log_output=log_output,
                **kwargs,
            ).execute()

    papermill_engines.register(ENGINE, LaneEngine)


class KernelLane:
    """One kernel that executes notebooks one after another (see the module's docstring).

    ``env`` is added to the kernel's environment. The kernel starts with the first notebook, in
    that notebook's folder; :meth:`close` shuts it down (also as a context manager).
    """

    def __init__(self, kernel: str, env: tuple[tuple[str, str], ...] = ()):
        self.kernel = kernel
        self.env = env
        self.km = None
        self.used = 0  # notebooks run on the current kernel

    def run(self, src: Path, dst: Path, parameters: dict, *, timeout: float | None = None) -> None:
        """Execute ``src`` with ``parameters`` into ``dst``; papermill's exceptions pass through."""
        papermill = require("papermill", extra="report", purpose="rendering reports")
        _register_engine()
        if self.km is None:
            self.km = kernel_manager(self.env)(kernel_name=self.kernel)
        papermill.execute_notebook(
            str(src),
            str(dst),
            parameters=parameters,
            kernel_name=self.kernel,
            engine_name=ENGINE,
            km=self.km,
            kit_reset=self.used > 0,
            progress_bar=False,
            log_output=False,
            # the executed notebook is written when it ends, not after every cell: each save
            # serialised and validated the whole notebook, images included
            request_save_on_cell_execute=False,
            # no cwd=: papermill would os.chdir the whole process while other notebooks run in
            # threads; nbclient starts the kernel itself in the notebook's folder instead
            resources={"metadata": {"path": str(src.parent)}},
            execution_timeout=timeout,
            # kernel start-up chatter (TCP notice) would clutter cron mail
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        self.used += 1

    def close(self) -> None:
        """Shut the kernel down (if one runs); the next :meth:`run` starts a fresh one."""
        km, self.km, self.used = self.km, None, 0
        if km is not None and km.has_kernel:
            from jupyter_core.utils import run_sync

            try:
                run_sync(km.shutdown_kernel)()
            except Exception:  # noqa: BLE001 - a kernel that is already gone needs no shutdown
                pass

    def __enter__(self) -> KernelLane:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
