"""Why an upload was refused, in the owner's words.

The admin API answers in English (its callers are scripts, and its tests read those words); the
console says the same in Russian. A refusal before anything was read carries its kind
(`UploadRefusal.problem`); a file that could not be read carries its reader's English reason,
which is matched here by its beginning. A reason this table does not know (a new reader's) is
said generally rather than shown in English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
from talkme_consultant.web.uploads import UploadProblem, UploadRefusal

UNKNOWN_REASON = "файл повреждён или не того формата, что указан в его названии"
SUSPICIOUS = (
    "файл устроен подозрительно — так выглядят файлы, сделанные, чтобы перегрузить сервис; "
    "сохраните его заново в Excel или Word"
)
TOO_BIG_TO_READ = "файл слишком большой или сложный: разделите его на несколько файлов"

# (the English reason's beginning, the Russian words); {0}, {1} are the pattern's groups.
_REASONS: tuple[tuple[str, str], ...] = (
    (r"unsupported file type", "такие файлы бот не читает"),
    (r"the file is empty", "файл пустой"),
    (r"no text found", "в файле нет текста"),
    (r"cannot be read", "файл не открывается"),
    (r"not a readable CSV", "таблица CSV не открывается: она повреждена или в другом формате"),
    (r"not a readable Word", "документ Word не открывается: он повреждён или в другом формате"),
    (r"not a readable Excel", "таблица Excel не открывается: она повреждена или в другом формате"),
    (r"not a readable PDF", "PDF не открывается: он повреждён"),
    (r"the XML inside the workbook is broken", "таблица Excel повреждена"),
    (r"the PDF is password-protected", "PDF защищён паролем: сохраните его без пароля"),
    (
        r"the PDF has no text layer",
        "в PDF нет текста, только картинки (это скан): нужен PDF с текстом или документ Word",
    ),
    (r"page (\d+) cannot be read", "страница {0} в PDF не читается"),
    (r"has ([\d,]+) pages", "в PDF слишком много страниц ({0})"),
    (r"has more than ([\d,]+) (?:table )?cells", "в таблице слишком много ячеек (больше {0})"),
    (r"merged cell ranges", "в таблице слишком много объединённых ячеек"),
    (r"unpacks to|part .* is compressed|part .* declares a DTD", SUSPICIOUS),
    (
        r"the text encoding could not be recognised",
        "не удалось распознать кодировку текста: сохраните файл заново как «Текст в UTF-8»",
    ),
    (r"reading it took longer|reading it needs more than", TOO_BIG_TO_READ),
    (r"its structure is nested too deeply", TOO_BIG_TO_READ),
)


def file_reason_words(reason: str) -> str:
    """A file reader's reason (English) as the owner reads it."""
    for pattern, words in _REASONS:
        found = re.match(pattern, reason)
        if found:
            return words.format(*(group.replace(",", " ") for group in found.groups()))
    return UNKNOWN_REASON


def unreadable_words(errors: Mapping[str, str]) -> str:
    """Files that could not be read, each with why; nothing of the upload was stored."""
    named = "; ".join(f"«{name}» — {file_reason_words(reason)}" for name, reason in errors.items())
    return (
        f"Ничего не загружено, потому что не все файлы читаются: {named}. "
        "Исправьте файл и загрузите снова."
    )


def _megabytes(size: int | None) -> str:
    return f"{round((size or 0) / (1024 * 1024), 1):g}".replace(".", ",")


def refusal_words(refusal: UploadRefusal) -> str:
    """An upload refused before anything was stored, as the owner reads it."""
    match refusal.problem:
        case UploadProblem.WRONG_TYPE:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            return f"«{refusal.name}»: такие файлы бот не читает. Подходят файлы {kinds}."
        case UploadProblem.FILE_TOO_LARGE:
            return (
                f"«{refusal.name}» больше {_megabytes(refusal.limit)} МБ — такие файлы сервис не "
                "принимает. Разделите его на части или уберите из него картинки."
            )
        case UploadProblem.REQUEST_TOO_LARGE:
            return (
                f"Все файлы вместе больше {_megabytes(refusal.limit)} МБ. "
                "Загрузите их в несколько приёмов."
            )
        case UploadProblem.TOO_MANY_FILES:
            return (
                f"Слишком много файлов сразу: за один раз можно до {refusal.limit}. "
                "Загрузите их в несколько приёмов."
            )
        case UploadProblem.BAD_NAME:
            return "Имя файла не подходит: переименуйте файл (буквы и цифры) и загрузите снова."
        case UploadProblem.NO_FILES:
            return "Выберите хотя бы один файл."
    return "Файлы дошли не целиком: обновите страницу и загрузите их снова."
