"""Running a network over many inputs a chunk at a time, to bound memory."""

import numpy as np
from tqdm import tqdm


def map_in_chunks(function, inputs, batch_size, description=None, leave=True):
    """Calls `function` on consecutive slices of `inputs` and joins the results.

    Args:
        function: maps an array [b, ...] to an array (or a tuple of arrays, or
            tensors) with b rows.
        inputs: an array [N, ...], or a tuple of such arrays (function then
            takes one slice of each).
        batch_size: rows per call, at least 1.
        description: label of a progress bar shown when there is more than one
            chunk; None = no bar.
        leave: keep the finished bar on screen.

    Returns:
        The NumPy concatenation of the outputs (a tuple of them when `function`
        returns tuples), or None when `inputs` is empty.
    """
    parts = inputs if isinstance(inputs, tuple) else (inputs,)
    starts = range(0, len(parts[0]), batch_size)
    outputs = []
    for start in tqdm(starts, desc=description, unit="batch", leave=leave, dynamic_ncols=True,
                      disable=description is None or len(starts) <= 1):
        output = function(*(part[start:start + batch_size] for part in parts))
        outputs.append(tuple(np.asarray(part) for part in output)
                       if isinstance(output, (tuple, list)) else np.asarray(output))
    if not outputs:
        return None
    if isinstance(outputs[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*outputs))
    return np.concatenate(outputs)
