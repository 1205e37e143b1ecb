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

The arguments are whole numbers (ids, years), text matched exactly (a code), dates, or lists of
whole numbers (a call with more than ``LONGEST`` numbers in all is built and compiled as usual).
Where each one sits is found by compiling twice with different stand-ins: a parameter that
changes between the two is an argument, one that does not is the query's own constant. A
queryset whose SQL itself changes with the arguments, that transforms one (a pattern for
``icontains``, say) or that prefetches is refused when first compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet
from django.db.models import query as django_query
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesIterable, ValuesListIterable

T = TypeVar("T")
Arg = int | str | date | Sequence[int]

# Stand-ins for the arguments: two sets, far from any id, year or date a query names, and numbers
# within the range of a positive small integer field (Django treats an out-of-range number as no match).
STAND_INS = ((30_001, date(1901, 1, 1)), (31_501, date(1951, 1, 1)))
MAX_SHAPES = 64  # a list argument's lengths, say: a page of 25 rows has at most 25
LONGEST = 100  # more numbers than this are rare: such a call is built and compiled as Django would

_UNPLANNED: Any = object()
Shape = tuple[int | str, ...]  # per argument: "int", "str", "date", or a list argument's length
Slot = tuple[int, int, int, bool]  # (position in params, argument, index in a list argument or -1, adapt as a date)


@dataclass(frozen=True)
class _Plan:
    """One shape's SQL, where each argument goes into its parameters, and how to read the rows."""

    alias: str
    sql: str
    params: tuple[Any, ...]
    slots: tuple[Slot, ...]
    read: Callable[[list[tuple[Any, ...]], Any], list[Any]]


class CompiledQuery(Generic[T]):
    """``build(*args)`` returns a queryset; calling this runs its SQL, compiled once per shape of args.

    >>> aims_of = CompiledQuery(lambda project_id: SpecificAim.objects.filter(project_id=project_id))
    >>> aims_of(project.pk)  # a list of SpecificAim, as list(build(project.pk)) would be
    """

    def __init__(self, build: Callable[..., QuerySet[Any, T]]) -> None:
        self.build = build
        self.plans: dict[Shape, _Plan | None] = {}

    def __call__(self, *args: Arg) -> list[T]:
        shape = tuple(_kind(a) for a in args)
        if sum(n if isinstance(n, int) else 1 for n in shape) > LONGEST:
            return list(self.build(*args))
        plan = self.plans.get(shape, _UNPLANNED)
        if plan is _UNPLANNED:  # a local from here on: another thread may clear the dict meanwhile
            if len(self.plans) >= MAX_SHAPES:
                self.plans.clear()
            plan = self.plans[shape] = self._plan(shape)
        if plan is None:  # an empty list argument: no rows, as the ORM would say without asking
            return []
        connection = connections[plan.alias]
        params = list(plan.params)
        for position, index, item, as_date in plan.slots:
            value = args[index] if item < 0 else args[index][item]  # type: ignore[index]
            params[position] = connection.ops.adapt_datefield_value(value) if as_date else value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        return plan.read(rows, connection)

    def _plan(self, shape: Shape) -> _Plan | None:
        first, second = _stand_ins(shape, 0), _stand_ins(shape, 1)
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
        ops = connections[queryset.db].ops
        where, other_where = _places(first, ops), _places(second, ops)
        slots = []
        for position, (a, b) in enumerate(zip(params, other_params, strict=True)):
            if a != b:
                slot = _lookup(where, a)
                if slot is None or slot != _lookup(other_where, b):
                    raise ImproperlyConfigured("A compiled query's arguments must reach its SQL unchanged.")
                slots.append((position, *slot))
        if {slot[1:3] for slot in slots} != {place[:2] for place in where.values()}:
            raise ImproperlyConfigured("Every argument of a compiled query must reach its SQL.")
        return _Plan(queryset.db, sql, tuple(params), tuple(slots), _reader(queryset, compiler))


def _kind(arg: object) -> int | str:
    if _whole(arg):
        return "int"
    if isinstance(arg, str):
        return "str"
    if isinstance(arg, date) and not isinstance(arg, datetime):
        return "date"
    if isinstance(arg, list | tuple) and all(_whole(i) for i in arg):
        return len(arg)
    raise TypeError(f"A compiled query takes whole numbers, text, dates or lists of whole numbers, not {arg!r}.")


def _whole(number: object) -> bool:
    return isinstance(number, int) and not isinstance(number, bool)


def _stand_ins(shape: Shape, which: int) -> list[Arg]:
    number, day = STAND_INS[which]
    args: list[Arg] = []
    n = 0
    for kind in shape:
        if kind == "int":
            args.append(number + n)
        elif kind == "str":
            args.append(f"\x1fstand-in {which}.{n}\x1f")
        elif kind == "date":
            args.append(day + timedelta(days=n))
        else:
            args.append(list(range(number + n, number + n + int(kind))))
        n += int(kind) if isinstance(kind, int) else 1
    return args


def _places(args: list[Arg], ops: Any) -> dict[Any, tuple[int, int, bool]]:
    """Each stand-in value as it may appear among the parameters: (argument, index in a list or -1, as a date).
    A date may appear as given (a raw SQL parameter) or as the database adapts a date field's value."""
    places: dict[Any, tuple[int, int, bool]] = {}
    for index, arg in enumerate(args):
        if isinstance(arg, date):
            places[arg] = (index, -1, False)
            places.setdefault(ops.adapt_datefield_value(arg), (index, -1, True))
        elif isinstance(arg, int | str):
            places[arg] = (index, -1, False)
        else:
            places.update({value: (index, item, False) for item, value in enumerate(arg)})
    return places


def _lookup(places: dict[Any, tuple[int, int, bool]], value: Any) -> tuple[int, int, bool] | None:
    try:
        return places.get(value)
    except TypeError:  # an unhashable parameter (a list, say) is no stand-in
        return None


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
