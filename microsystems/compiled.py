"""Querysets compiled to SQL once per process and run with new ids on every request.

Django builds and compiles a queryset's SQL each time it is evaluated: for a one-table read
of a project's rows that is 0.3–0.7 ms of Python, several times what the database spends
answering it. A page that runs the same shape of query on every request, differing only in
the ids it asks about, pays that again and again. ``CompiledQuery`` builds the queryset once
per shape of its arguments, keeps the SQL and where the arguments sit among its parameters,
and on each call runs that SQL with the real ids through the connection's cursor (so query
counting and logging still see it). Rows come back as the queryset would have returned them:
model instances with their ``select_related`` objects and annotations, or ``values()`` dicts,
``values_list()`` tuples or flat values.

The arguments are whole numbers (ids, years) or lists of them (a call with more than
``LONGEST`` numbers in all is built and compiled as usual). Where each one sits is found
by compiling twice with different stand-in numbers: a parameter that changes between the two
is an argument, one that does not is the query's own constant. A queryset whose SQL itself
changes with the numbers, or that prefetches, is refused when first compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet
from django.db.models import query as django_query
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesIterable, ValuesListIterable

T = TypeVar("T")
Arg = int | Sequence[int]

# Stand-ins for the arguments: two sets, far from any id or year a query names, and within the
# range of a positive small integer field (Django treats an out-of-range number as no match).
FIRST_STAND_IN = 30_001
SECOND_STAND_IN = 31_501
MAX_SHAPES = 64  # a list argument's lengths, say: a page of 25 rows has at most 25
LONGEST = 100  # more numbers than this are rare: such a call is built and compiled as Django would


_UNPLANNED: Any = object()


@dataclass(frozen=True)
class _Plan:
    """One shape's SQL, where each argument goes into its parameters, and how to read the rows."""

    alias: str
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int, int], ...]  # (position in params, argument, index within a list argument)
    read: Callable[[list[tuple[Any, ...]], Any], list[Any]]


class CompiledQuery(Generic[T]):
    """``build(*args)`` returns a queryset; calling this runs its SQL, compiled once per shape of args.

    >>> aims_of = CompiledQuery(lambda project_id: SpecificAim.objects.filter(project_id=project_id))
    >>> aims_of(project.pk)  # a list of SpecificAim, as list(build(project.pk)) would be
    """

    def __init__(self, build: Callable[..., QuerySet[Any, T]]) -> None:
        self.build = build
        self.plans: dict[tuple[int | None, ...], _Plan | None] = {}

    def __call__(self, *args: Arg) -> list[T]:
        if not all(
            isinstance(a, int) or (isinstance(a, list | tuple) and all(type(i) is int for i in a)) for a in args
        ):
            raise TypeError(f"A compiled query takes whole numbers or lists of them, not {args!r}.")
        shape = tuple(None if isinstance(a, int) else len(a) for a in args)
        if sum(1 if n is None else n for n in shape) > LONGEST:
            return list(self.build(*args))
        plan = self.plans.get(shape, _UNPLANNED)
        if plan is _UNPLANNED:  # a local from here on: another thread may clear the dict meanwhile
            if len(self.plans) >= MAX_SHAPES:
                self.plans.clear()
            plan = self.plans[shape] = self._plan(shape)
        if plan is None:  # an empty list argument: no rows, as the ORM would say without asking
            return []
        params = list(plan.params)
        for position, index, item in plan.slots:
            arg = args[index]
            params[position] = arg if isinstance(arg, int) else arg[item]
        connection = connections[plan.alias]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        return plan.read(rows, connection)

    def _plan(self, shape: tuple[int | None, ...]) -> _Plan | None:
        first = _stand_ins(shape, FIRST_STAND_IN)
        second = _stand_ins(shape, SECOND_STAND_IN)
        queryset = self.build(*first)
        if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
            raise ImproperlyConfigured("A compiled query cannot prefetch or come from a related manager.")
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
            other_sql, other_params = self.build(*second).query.get_compiler(using=queryset.db).as_sql()
        except EmptyResultSet:
            return None
        if sql != other_sql or len(params) != len(other_params):
            raise ImproperlyConfigured("A compiled query's SQL must not change with its arguments.")
        where = {value: (index, item) for index, value, item in _flattened(first)}
        slots = []
        for position, (a, b) in enumerate(zip(params, other_params, strict=True)):
            if a != b:
                if not isinstance(a, int) or a not in where or b - SECOND_STAND_IN != a - FIRST_STAND_IN:
                    raise ImproperlyConfigured("A compiled query's arguments must reach its SQL unchanged.")
                slots.append((position, *where[a]))
        if {slot[1:] for slot in slots} != set(where.values()):
            raise ImproperlyConfigured("Every argument of a compiled query must reach its SQL.")
        return _Plan(queryset.db, sql, tuple(params), tuple(slots), _reader(queryset, compiler))


def _whole(number: object) -> bool:
    return isinstance(number, int) and not isinstance(number, bool)


def _stand_ins(shape: tuple[int | None, ...], start: int) -> list[Arg]:
    args: list[Arg] = []
    n = start
    for length in shape:
        if length is None:
            args.append(n)
            n += 1
        else:
            args.append(list(range(n, n + length)))
            n += length
    return args


def _flattened(args: list[Arg]) -> list[tuple[int, int, int]]:
    """(argument's index, stand-in value, index within a list argument) for every number in ``args``."""
    out = []
    for index, arg in enumerate(args):
        for item, value in enumerate([arg] if isinstance(arg, int) else arg):
            out.append((index, value, item))
    return out


def _reader(queryset: QuerySet[Any, Any], compiler: Any) -> Callable[[list[tuple[Any, ...]], Any], list[Any]]:
    """Turn fetched rows into what iterating ``queryset`` yields, as Django's own iterables do."""
    col_count = compiler.col_count
    trim = compiler.has_extra_select  # columns added only to order by
    converters = list(compiler.get_converters([s[0] for s in compiler.select[:col_count]]).items())

    def converted(rows: list[tuple[Any, ...]], connection: Any) -> list[Any]:
        if trim:
            rows = [row[:col_count] for row in rows]
        if not converters:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for pos, (convs, expression) in converters:
                value = values[pos]
                for converter in convs:
                    value = converter(value, expression, connection)
                values[pos] = value
            out.append(values)
        return out

    iterable = queryset._iterable_class
    query = queryset.query
    if iterable is FlatValuesListIterable:
        return lambda rows, connection: [row[0] for row in converted(rows, connection)]
    if iterable is ValuesListIterable:
        return lambda rows, connection: [tuple(row) for row in converted(rows, connection)]
    if iterable is ValuesIterable:
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        return lambda rows, connection: [dict(zip(names, row, strict=True)) for row in converted(rows, connection)]
    if iterable is not ModelIterable:
        raise ImproperlyConfigured(f"A compiled query cannot yield {iterable.__name__} rows.")
    db = queryset.db
    klass_info, select, annotations = compiler.klass_info, compiler.select, compiler.annotation_col_map
    model = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    populators = django_query.get_related_populators(klass_info, select, db)  # type: ignore[attr-defined]

    def instances(rows: list[tuple[Any, ...]], connection: Any) -> list[Any]:
        objects = []
        for row in converted(rows, connection):
            obj = model.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            if annotations:
                for name, pos in annotations.items():
                    setattr(obj, name, row[pos])
            objects.append(obj)
        return objects

    return instances
