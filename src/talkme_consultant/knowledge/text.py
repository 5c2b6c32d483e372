"""Text normalisation, tokenisation and stemming for Russian and English search.

Visitors paste text from messengers and web pages, so normalisation first strips what carries no
meaning for search (zero-width characters, soft hyphens, links, emoji) and folds what people write
inconsistently (case, ё/е, exotic spaces and dashes). Tokens are then stemmed with the Snowball
stemmer of their script: Cyrillic words with the Russian one, Latin words with the English one.

Snowball stems were measured against pymorphy3 lemmas as BM25 tokens on the evaluation sets:
faq_school R@1 0.90 (stems) vs 0.88 (lemmas), the messy variants and the support set equal
within one question. Lemmas need the dictionary in memory and a parse per new word, so only
stems are used.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e"), None
)
_URL_RE = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPACE_RE = re.compile(r"\s+")
# A token is a run of letters and digits; digits glued to letters ("10класс") are split so both
# halves can match, while "1500" or "2018" stay whole.
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")
_CYRILLIC_RE = re.compile(r"[а-я]")
# Names visitors write in Cyrillic or in Latin letters, with or without a hyphen («вай фай»,
# «Wi-Fi», «ватсап», «WhatsApp»): each is folded to one Latin word so a question in one spelling
# finds a record in the other. Only names common in chats with a business are listed.
_SPELLINGS = {
    "wifi": r"wi[- ]?fi|вай[- ]?фа[йяюе]\w*",
    "whatsapp": r"whats[- ]?app|ватсап\w*|вотсап\w*|вацап\w*|вотс[ао]п\w*",
    "telegram": r"телеграмм?\w*",
    "instagram": r"инстаграмм?\w*",
}
# One pass over the text for all of them: `normalize` runs on every query and every record.
_SPELLING_RE = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(f"(?P<{word}>{pattern})" for word, pattern in _SPELLINGS.items())
    + r")(?![^\W\d_])"
)

# Kept deliberately small: BM25's idf already discounts frequent words. Listed are the words that
# carry no topic at all in a chat message (greetings, politeness, fillers, pronouns, prepositions)
# and would otherwise let "здравствуйте, подскажите пожалуйста" match any record that happens to
# contain them.
_STOPWORDS_TEXT = """
    а и в во на с со к ко у о об обо от до по за из изо для без при про над под через между или есть
    либо но да же ли бы то это этот эта эти этого этой тот та те так как ну вот уж еще ещё уже
    какой какая какое какие какого какую каких каким какими
    я мы ты вы он она оно они меня мне мной нас нам нами тебя тебе вас вам вами его ему им ее её
    ей их мой моя мое моё мои наш наша наше наши ваш ваша ваше ваши свой своя свое своё свои
    здравствуйте здравствуй здрасте здрасьте привет приветствую добрый доброе доброго доброй
    спасибо благодарю пожалуйста подскажите
    подскажи скажите скажи расскажите уточните хотел хотела хотели хочу бы можно ли
    извините простите будьте добры очень просто вообще кстати вроде типа
    the a an and or of to in on at for is are be it this that with please hi hello thanks
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())


def normalize(text: str) -> str:
    """Fold text to the form search compares: lower case, е for ё, plain spaces, no junk.

    Links and e-mail addresses are replaced by a space (they rarely match what a visitor types),
    emoji and other symbols vanish in tokenisation, invisible characters vanish here.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _URL_RE.sub(" ", text)
    text = _EMAIL_RE.sub(" ", text)
    text = text.lower().replace("ё", "е")
    text = _SPELLING_RE.sub(lambda found: str(found.lastgroup), text)
    return _SPACE_RE.sub(" ", text).strip()


def clean_display(text: str) -> str:
    """Tidy text for display and embedding without changing its words.

    Unlike `normalize` it keeps case, links and punctuation; it only removes invisible characters
    and collapses runs of whitespace, which is what pasted text most often gets wrong.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACE_RE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """Split already normalised text into word tokens (letters runs and digit runs)."""
    return _TOKEN_RE.findall(text)


class _Stemmers:
    """Snowball stemmers are not thread-safe, so each thread gets its own pair."""

    def __init__(self) -> None:
        self._local = threading.local()

    def pair(self) -> tuple[Any, Any]:
        pair: tuple[Any, Any] | None = getattr(self._local, "pair", None)
        if pair is None:
            import Stemmer

            pair = (Stemmer.Stemmer("russian"), Stemmer.Stemmer("english"))
            self._local.pair = pair
        return pair


_STEMMERS = _Stemmers()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Stem one normalised word with the Snowball stemmer of its script."""
    if word.isdigit():
        return word
    russian, english = _STEMMERS.pair()
    if _CYRILLIC_RE.search(word):
        return str(russian.stemWord(word))
    return str(english.stemWord(word))


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Normalise, split and stem `text` into search tokens.

    Stopwords are dropped unless `keep_stopwords`; single letters are dropped because after
    splitting "10класс" or an initial they carry nothing searchable.
    """
    out: list[str] = []
    for word in words(normalize(text)):
        if not keep_stopwords and word in STOPWORDS:
            continue
        if len(word) < 2 and not word.isdigit():
            continue
        out.append(stem(word))
    return out


def tokenize_many(texts: Iterable[str]) -> list[list[str]]:
    """Tokenise several texts (convenience for index building)."""
    return [tokenize(t) for t in texts]
