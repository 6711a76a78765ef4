"""A row chunk of LANES float32 values as one Numba value, for the training steps' row arithmetic.

LLVM's loop vectorizer decides for itself how to turn a loop over a row into vector code, and for the
steps' short rows it chose badly: 256-bit vectors, every multiply-add with its own index arithmetic and
loop control, and the update passes reading and writing their accumulators through memory. Here a
`Lanes` value is an LLVM <LANES x float>, which LLVM splits into the CPU's widest vector registers (eight
512-bit ones with AVX-512), so the kernels say exactly what is loaded, combined and stored, and one chunk
covers a whole row of up to LANES floats.

A row is handled in chunks of LANES columns; the last chunk of a row whose length is not a multiple of
LANES is loaded and stored with a mask (`load` and `store` take the number of columns in the chunk), so
nothing beyond the row is touched. Arithmetic is IEEE float32: `mul_add` is one fused multiply-add (one
rounding), and `lane_sum` sums the lanes in an order LLVM picks.

The intrinsics are compiled into the kernels that call them, and Numba's cache of those kernels is keyed
on their own source files: after editing this file, delete `w2v_nce/__pycache__`.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

LANES = 128
_FLOAT = ir.FloatType()
_VECTOR = ir.VectorType(_FLOAT, LANES)
_MASK = ir.VectorType(ir.IntType(1), LANES)
_I32 = ir.IntType(32)


class LanesType(types.Type):
    def __init__(self):
        super().__init__(name=f"float32x{LANES}")


lanes_type = LanesType()


@register_model(LanesType)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _intrinsic_function(builder, name, return_type, argument_types):
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(return_type, argument_types), name)


def _chunk_pointer(context, builder, matrix_type, matrix, row, row_type, column, column_type):
    array = context.make_array(matrix_type)(context, builder, matrix)
    intp = types.intp
    indices = [context.cast(builder, row, row_type, intp), context.cast(builder, column, column_type, intp)]
    pointer = cgutils.get_item_pointer(context, builder, matrix_type, array, indices)
    return builder.bitcast(pointer, _VECTOR.as_pointer())


def _mask(context, builder, count, count_type):
    """<LANES x i1>: lane k is on when k < count."""
    count = builder.trunc(context.cast(builder, count, count_type, types.int64), _I32)
    limit = builder.insert_element(ir.Constant(ir.VectorType(_I32, LANES), ir.Undefined), count, _I32(0))
    limit = builder.shuffle_vector(limit, limit, ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))
    lanes = ir.Constant(ir.VectorType(_I32, LANES), list(range(LANES)))
    return builder.icmp_signed("<", lanes, limit)


@intrinsic
def load(typingctx, matrix, row, column, count):
    """matrix[row, column:column + count] (count <= LANES, a float32 matrix whose rows are contiguous) in
    the first count lanes, 0 in the others; nothing beyond them is read."""
    def codegen(context, builder, signature, args):
        matrix_type, row_type, column_type, count_type = signature.args
        pointer = _chunk_pointer(context, builder, matrix_type, args[0], args[1], row_type, args[2], column_type)
        masked_load = _intrinsic_function(builder, f"llvm.masked.load.v{LANES}f32.p0", _VECTOR,
                                          [_VECTOR.as_pointer(), _I32, _MASK, _VECTOR])
        return builder.call(masked_load, [pointer, _I32(4), _mask(context, builder, args[3], count_type),
                                          ir.Constant(_VECTOR, [0.0] * LANES)])
    return lanes_type(matrix, row, column, count), codegen


@intrinsic
def store(typingctx, matrix, row, column, count, value):
    """matrix[row, column:column + count] = the first count lanes of value; nothing else is written."""
    def codegen(context, builder, signature, args):
        matrix_type, row_type, column_type, count_type, _ = signature.args
        pointer = _chunk_pointer(context, builder, matrix_type, args[0], args[1], row_type, args[2], column_type)
        masked_store = _intrinsic_function(builder, f"llvm.masked.store.v{LANES}f32.p0", ir.VoidType(),
                                           [_VECTOR, _VECTOR.as_pointer(), _I32, _MASK])
        builder.call(masked_store, [args[4], pointer, _I32(4), _mask(context, builder, args[3], count_type)])
        return context.get_dummy_value()
    return types.void(matrix, row, column, count, value), codegen


def _private_chunk_pointer(context, builder, signature, args):
    """The chunk's pointer into `private` when row < its rows, else into `matrix`: a select between two
    addresses (the other is never dereferenced), so a step picks a row's home without an array variable,
    which would cost a reference count. With `private` None (no private rows), the matrix's pointer: the
    code is then load's or store's, with no test."""
    private_type, matrix_type, row_type, column_type = signature.args[:4]
    private, matrix, row, column = args[:4]
    in_matrix = _chunk_pointer(context, builder, matrix_type, matrix, row, row_type, column, column_type)
    if isinstance(private_type, types.NoneType):
        return in_matrix
    in_private = _chunk_pointer(context, builder, private_type, private, row, row_type, column, column_type)
    private_rows = builder.extract_value(context.make_array(private_type)(context, builder, private).shape, 0)
    is_private = builder.icmp_signed("<", context.cast(builder, row, row_type, types.intp), private_rows)
    return builder.select(is_private, in_private, in_matrix)


def _private_item_pointer(context, builder, signature, args):
    """_private_chunk_pointer for one item of a vector (a bias) and its private copy's first items."""
    private_type, vector_type, index_type = signature.args[:3]
    private, vector, index = args[:3]
    index = context.cast(builder, index, index_type, types.intp)
    in_vector = cgutils.get_item_pointer(context, builder, vector_type,
                                         context.make_array(vector_type)(context, builder, vector), [index])
    if isinstance(private_type, types.NoneType):
        return in_vector
    private_array = context.make_array(private_type)(context, builder, private)
    in_private = cgutils.get_item_pointer(context, builder, private_type, private_array, [index])
    is_private = builder.icmp_signed("<", index, builder.extract_value(private_array.shape, 0))
    return builder.select(is_private, in_private, in_vector)


@intrinsic
def load_private_item(typingctx, private, vector, index):
    """private[index] when index < len(private) (not None), else vector[index]."""
    def codegen(context, builder, signature, args):
        return builder.load(_private_item_pointer(context, builder, signature, args))
    return vector.dtype(private, vector, index), codegen


@intrinsic
def add_to_private_item(typingctx, private, vector, index, value):
    """private[index] += value when index < len(private) (not None), else vector[index] += value."""
    def codegen(context, builder, signature, args):
        pointer = _private_item_pointer(context, builder, signature, args)
        value = context.cast(builder, args[3], signature.args[3], signature.args[1].dtype)
        builder.store(builder.fadd(builder.load(pointer), value), pointer)
        return context.get_dummy_value()
    return types.void(private, vector, index, value), codegen


@intrinsic
def load_private(typingctx, private, matrix, row, column, count):
    """load(private, ...) when row < private.shape[0], else load(matrix, ...): `private` is a thread's own
    copy of the matrix's first rows (both with contiguous rows), or None."""
    def codegen(context, builder, signature, args):
        pointer = _private_chunk_pointer(context, builder, signature, args)
        masked_load = _intrinsic_function(builder, f"llvm.masked.load.v{LANES}f32.p0", _VECTOR,
                                          [_VECTOR.as_pointer(), _I32, _MASK, _VECTOR])
        return builder.call(masked_load, [pointer, _I32(4), _mask(context, builder, args[4], signature.args[4]),
                                          ir.Constant(_VECTOR, [0.0] * LANES)])
    return lanes_type(private, matrix, row, column, count), codegen


@intrinsic
def store_private(typingctx, private, matrix, row, column, count, value):
    """store(private, ...) when row < private.shape[0], else store(matrix, ...); `private` may be None."""
    def codegen(context, builder, signature, args):
        pointer = _private_chunk_pointer(context, builder, signature, args)
        masked_store = _intrinsic_function(builder, f"llvm.masked.store.v{LANES}f32.p0", ir.VoidType(),
                                           [_VECTOR, _VECTOR.as_pointer(), _I32, _MASK])
        builder.call(masked_store, [args[5], pointer, _I32(4), _mask(context, builder, args[4], signature.args[4])])
        return context.get_dummy_value()
    return types.void(private, matrix, row, column, count, value), codegen


@intrinsic
def splat(typingctx, value):
    """value (a float32) in every lane."""
    def codegen(context, builder, signature, args):
        single = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), args[0], _I32(0))
        return builder.shuffle_vector(single, single, ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))
    return lanes_type(types.float32), codegen


@intrinsic
def zeros(typingctx):
    def codegen(context, builder, signature, args):
        return ir.Constant(_VECTOR, [0.0] * LANES)
    return lanes_type(), codegen


@intrinsic
def mul_add(typingctx, a, b, c):
    """a * b + c, lane by lane, with one rounding (llvm.fma)."""
    def codegen(context, builder, signature, args):
        fma = _intrinsic_function(builder, f"llvm.fma.v{LANES}f32", _VECTOR, [_VECTOR] * 3)
        return builder.call(fma, list(args))
    return lanes_type(lanes_type, lanes_type, lanes_type), codegen


@intrinsic
def add(typingctx, a, b):
    """a + b, lane by lane."""
    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])
    return lanes_type(lanes_type, lanes_type), codegen


@intrinsic
def lane_sum(typingctx, value):
    """The sum of the lanes, as a float32 (the order of the additions is LLVM's)."""
    def codegen(context, builder, signature, args):
        reduce = _intrinsic_function(builder, f"llvm.vector.reduce.fadd.v{LANES}f32", _FLOAT, [_FLOAT, _VECTOR])
        return builder.call(reduce, [ir.Constant(_FLOAT, -0.0), args[0]], fastmath=("reassoc",))
    return types.float32(lanes_type), codegen


ROW_ALIGNMENT = 64  # bytes: a cache line, and one 512-bit vector
_ALIGNMENT_FLOATS = ROW_ALIGNMENT // 4


def aligned_empty(rows, dim):
    """An uninitialized float32 [rows, dim] matrix whose rows start on 64-byte boundaries: a view of
    storage with each row padded to a multiple of 16 floats (the padding, zeroed, is never read or
    written). A row's full-width loads then never straddle two cache lines, which made the steps 1.2x
    faster (README, Performance). load and store take such views: their rows are contiguous, only the
    row stride differs."""
    padded = padded_dim(dim)
    raw = np.empty(rows * padded + _ALIGNMENT_FLOATS, dtype=np.float32)
    start = (-raw.ctypes.data % ROW_ALIGNMENT) // 4
    storage = raw[start:start + rows * padded].reshape(rows, padded)
    storage[:, dim:] = 0.0
    return storage[:, :dim]


def padded_dim(dim):
    """The floats each row of dim floats takes in aligned storage."""
    return -(-dim // _ALIGNMENT_FLOATS) * _ALIGNMENT_FLOATS


def has_aligned_rows(matrix):
    """Whether matrix is a writable float32 matrix in aligned storage (as aligned_empty makes)."""
    return (matrix.dtype == np.float32 and matrix.ndim == 2 and matrix.flags.writeable
            and matrix.strides[1] == 4 and matrix.strides[0] % ROW_ALIGNMENT == 0
            and matrix.ctypes.data % ROW_ALIGNMENT == 0)


def with_aligned_rows(matrix, copy=False):
    """matrix itself where it has aligned rows and is writable (unless copy), else a copy in aligned
    storage."""
    if has_aligned_rows(matrix) and not copy:
        return matrix
    aligned = aligned_empty(*matrix.shape)
    aligned[...] = matrix
    return aligned


@njit(cache=True, inline="always")
def chunks(dim):
    """The number of LANES-column chunks in a row of dim columns."""
    return (dim + LANES - 1) // LANES

