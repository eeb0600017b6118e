"""The kernel client the grader's kernel managers hand to nbclient: jupyter_client's, made ready sooner.

jupyter_client's `wait_for_ready` ends by draining the IOPub channel until it has been silent for
0.2 s: a fixed fifth of a second for every kernel, that is for every student. This client waits for
the same evidence that the kernel is ready (a `kernel_info_reply` on the shell channel, then a message
on IOPub, which shows that IOPub is subscribed) and then drains only what has already arrived: nbclient
matches every IOPub message to the request it answers (its parent's id), so a late status message of
the `kernel_info` request is ignored by the first cell.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_core.utils import ensure_async

IOPUB_SECONDS = 0.2  # how long to wait for IOPub's first message after the kernel_info reply (as jupyter_client)


class PromptKernelClient(AsyncKernelClient):
    """An AsyncKernelClient whose `wait_for_ready` returns as soon as shell and IOPub both answered."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        """Wait until the kernel answers `kernel_info` and IOPub delivers; RuntimeError if it dies or
        `timeout` seconds pass first."""
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                pass
            else:
                if reply["msg_type"] == "kernel_info_reply":
                    try:
                        await ensure_async(self.iopub_channel.get_msg(timeout=IOPUB_SECONDS))
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:  # drain what IOPub holds now, without waiting for more
            try:
                await ensure_async(self.iopub_channel.get_msg(timeout=0))
            except Empty:
                return
