"""What the computer is: one description for the run log, run_info.json and every
benchmark table, so each figure says which processor it came from."""

import os
import platform

# /proc/cpuinfo flags worth naming: the vector and matrix units TensorFlow's oneDNN uses.
_FEATURES = (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16"), ("amx_bf16", "AMX"))


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (an empty set elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            line = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.split(":", 1)[-1].split())


def cpu_name(cores=None):
    """'Intel(R) Xeon(R) Processor (2 cores, AVX-512, AVX512-BF16, AMX)': the model,
    `cores` (None: the machine's), and the vector and matrix units it has."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    flags = cpu_flags()
    features = [name for flag, name in _FEATURES if flag in flags]
    count = cores or os.cpu_count()
    return f"{model} ({', '.join([f'{count} core' + ('s' if count != 1 else ''), *features])})"


def has_bfloat16_units():
    """Whether the CPU does bfloat16 matrix math natively (AMX or AVX512-BF16)."""
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


def choose_precision():
    """(precision, reason): what --precision=auto trains in on this machine.

    mixed_bfloat16 on a CPU with bfloat16 matrix units (AMX or AVX512-BF16) and no
    GPU: on a Xeon with AMX the default step ran faster than in float32 and reached
    the same Fréchet distance at the same seeds and epochs (docs/performance.md,
    docs/results.md). float32 elsewhere: on CPUs without such units bfloat16 is
    emulated and slower, and on GPUs it was not measured.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32", "a GPU is visible (bfloat16 is chosen only for CPUs with AMX)"
    if has_bfloat16_units():
        units = "AMX" if "amx_bf16" in cpu_flags() else "AVX512-BF16"
        return "mixed_bfloat16", f"this CPU has bfloat16 matrix units ({units}) and no GPU"
    return "float32", "this CPU has no bfloat16 matrix units (AMX or AVX512-BF16)"


def describe(strategy=None, strategy_name="default"):
    """The devices TensorFlow trains on: the GPUs' names, or the CPU's; with a
    distributed strategy, its name and replica count."""
    import tensorflow as tf

    from dcgan_tf import distribute

    gpus = tf.config.list_physical_devices("GPU")
    names = ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                      for gpu in gpus)
    if not names:
        names = f"CPU: {cpu_name()} (no GPU found; training runs on the CPU)"
    if strategy is not None and distribute.is_distributed(strategy):
        count = strategy.num_replicas_in_sync
        names += f" ({strategy_name}, {count} replica{'s' if count > 1 else ''})"
    return names
