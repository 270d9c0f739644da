"""Skill suggestions: typo-tolerant autocomplete and "people who list X also list Y".

The index covers the curated vocabulary (``data/skills.json``: canonical names, categories and
aliases) plus every skill people have entered (the ``skills`` table). A typed skill whose
spelling matches a curated name or alias ("ML", "js") joins that entry, so its users count for it.

- ``suggest``: exact names, then aliases ("k8s" → Kubernetes), then prefixes (of the name, an
  alias or a later word: "learn" → Machine Learning), then fuzzy matches ("pyhton" → Python):
  cosine similarity of character n-gram TF-IDF vectors, with the few best re-ranked by edit
  distance. Within each kind, skills more people list, and skills often listed with the ones
  already chosen, come first.
- ``related``: co-occurrence over skill lists (each person's skills and interests, each
  session's skills): the binary list × skill matrix X gives C = XᵀX; a pair's score is its
  cosine, C_ij / √(n_i n_j), shrunk towards 0 when few lists hold both.

An entered skill one slip of the keys away from a known one ("Pyhton", "Jvaa") is taken for
a misspelling and counts for it. Any other skill outside the vocabulary is offered once
``MIN_LISTINGS`` lists hold it, so a one-off entry is not suggested to everyone else.

Everything per request is a dictionary look-up, a binary search, a sparse product and a top-k
over small arrays. Pure computation: ``services/skills.py`` loads the rows from the database and
keeps one index per process.
"""

import bisect
import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

VOCABULARY_PATH = Path(__file__).resolve().parent / "data" / "skills.json"

# A skill outside the vocabulary is suggested once this many lists (people or sessions) hold it.
MIN_LISTINGS = 2
# Pairs held together by fewer lists than this are noise, not "people also list".
MIN_SUPPORT = 2
# Shrinks the score of pairs with little support: score × support / (support + SUPPORT_SHRINK).
SUPPORT_SHRINK = 5
# Related skills kept per skill; bounds memory and the work per request.
RELATED_PER_SKILL = 50
# Fuzzy matching: TF-IDF candidates re-ranked by edit distance, and the score they must reach.
FUZZY_CANDIDATES = 40
FUZZY_RERANK = 8
FUZZY_MIN_COSINE = 0.15
FUZZY_MIN_SCORE = 0.5
FUZZY_MIN_QUERY = 3
EDIT_MAX_QUERY = 24
# Entered skills are checked for misspellings against the spellings this close (TF-IDF cosine),
# at most this many; a misspelling of another entered skill must be this many times rarer.
MISSPELLING_MIN_COSINE = 0.2
MISSPELLING_CANDIDATES = 8
TYPO_POPULARITY_RATIO = 3
# Ranking: the kind of match decides first (exact, alias, prefix, fuzzy); scores within a kind
# add less than the gap between kinds.
TIER_EXACT, TIER_ALIAS = 4.0, 3.0
# Kinds of keys: a name, an alias, a later word of a name, a misspelling people entered.
_NAME, _ALIAS, _WORD, _SPELLING = 0, 1, 2, 3
# Kinds of matches, reported by name.
_MATCH_EXACT, _MATCH_ALIAS, _MATCH_PREFIX, _MATCH_FUZZY = 0, 1, 2, 3
MATCH_NAMES = ("exact", "alias", "prefix", "fuzzy")
# Prefix matches by kind of key: a name's start before an alias's before a later word's.
TIER_PREFIX = np.array([2.0, 1.8, 1.6])
_LINKING_WORDS = {"a", "an", "and", "as", "for", "in", "of", "on", "the", "to", "with"}
_PUNCTUATION = re.compile(r"[^\w+#]+")


@dataclass(frozen=True)
class VocabularyEntry:
    name: str
    category: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    name: str
    category: str | None
    match: str  # exact, alias, prefix or fuzzy


@dataclass(frozen=True)
class Related:
    name: str
    category: str | None
    because: str  # the chosen skill it is most often listed with


def match_key(text):
    """What two spellings of one skill share: case, Unicode forms, spaces and punctuation are
    ignored, + and # kept ("Node.js" = "nodejs", "C++" ≠ "C")."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _PUNCTUATION.sub("", text).replace("_", "")


def _fuzzy_text(text):
    """The form the n-grams are taken from: words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_PUNCTUATION.sub(" ", text).replace("_", " ").split())


@lru_cache(maxsize=4)
def load_vocabulary(path=VOCABULARY_PATH):
    """The curated skills, as a tuple of VocabularyEntry."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(
        VocabularyEntry(item["name"], item["category"], tuple(item.get("aliases", ())))
        for item in data["skills"]
    )


def _edit_distance(a, b, bound=None):
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    two neighbouring characters ("pyhton" is one edit from "python"). With ``bound``, only the
    band of cells that can stay within it is filled, and any larger distance is bound + 1."""
    if a == b:
        return 0
    if bound is None:
        bound = max(len(a), len(b))
    too_far = bound + 1
    if abs(len(a) - len(b)) > bound:
        return too_far
    previous2, previous = None, [min(j, too_far) for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        low, high = max(1, i - bound), min(len(b), i + bound)
        current = [too_far] * (len(b) + 1)
        current[0] = min(i, too_far)
        char = a[i - 1]
        for j in range(low, high + 1):
            cost = 0 if char == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = min(value, too_far)
        if min(current[low - 1 : high + 1]) > bound:
            return too_far
        previous2, previous = previous, current
    return previous[-1]


def _letters(key):
    """The same for two spellings that differ only by swapped letters ("jvaa", "java")."""
    return "".join(sorted(key))


def _is_misspelling(typed_key, known_key):
    """Two swapped neighbours in a word of four letters or more, one slip of any kind in five
    or more, two in nine or more. Other short words differ by design (HTML and HTMX)."""
    if len(typed_key) < 4:
        return False
    allowed = 2 if len(typed_key) >= 9 else 1
    # Each edit adds or drops at most one letter on each side: a cheap test before the real one.
    if len(set(typed_key) ^ set(known_key)) > 2 * allowed:
        return False
    distance = _edit_distance(typed_key, known_key, bound=allowed)
    if distance == 0 or distance > allowed:
        return False
    return len(typed_key) >= 5 or _letters(typed_key) == _letters(known_key)


def _typo_similarity(query_key, doc_key):
    """1 for the same text, 0 for nothing in common; the name is cut to the query's length + 1
    so that a half-typed word is compared with the start of the name."""
    doc_key = doc_key[: len(query_key) + 1]
    longest = max(len(query_key), len(doc_key))
    return 1.0 - _edit_distance(query_key, doc_key) / longest if longest else 0.0


class SkillIndex:
    """Everything ``suggest`` and ``related`` need, as arrays. Immutable once built, so threads
    share it without locks."""

    def __init__(self, vocabulary, skills, listings):
        """``vocabulary``: VocabularyEntry items; ``skills``: (skill_id, name) rows;
        ``listings``: (list_id, skill_id) integer rows, one per skill on a person's or a
        session's list (list_id tells the lists apart)."""
        pairs = np.fromiter(itertools.chain.from_iterable(listings), dtype=np.int64).reshape(-1, 2)
        listed = np.bincount(pairs[:, 1]) if len(pairs) else np.zeros(0, dtype=np.int64)
        self._curated_entries(vocabulary)
        unmatched = self._match_skills(skills)
        self._fit_text(unmatched, listed)
        self._usage_and_cooccurrence(pairs)
        self._search_structures()

    # --- building ----------------------------------------------------------------------------

    def _curated_entries(self, vocabulary):
        self.names, self.categories, self.aliases_of, self.exact = [], [], [], {}
        for entry in vocabulary:
            self.exact.setdefault(match_key(entry.name), (len(self.names), _NAME))
            self.names.append(entry.name)
            self.categories.append(entry.category)
            self.aliases_of.append(entry.aliases)
        for index, aliases in enumerate(self.aliases_of):
            for alias in aliases:
                self.exact.setdefault(match_key(alias), (index, _ALIAS))
        self.curated_count = len(self.names)

    def _match_skills(self, skills):
        """Map skill rows spelt like a curated name or alias to it; return the others as
        {key: [(skill_id, name), ...]}."""
        self.skill_entry, unmatched = {}, {}
        for skill_id, name in skills:
            key = match_key(name)
            if not key:
                continue
            hit = self.exact.get(key)
            if hit is not None:
                self.skill_entry[skill_id] = hit[0]
            else:
                unmatched.setdefault(key, []).append((skill_id, name))
        return unmatched

    def _fit_text(self, unmatched, listed):
        """Fit the character n-gram TF-IDF over curated names and aliases plus the skills people
        entered. An entered skill one slip away from a curated spelling ("Pyhton"), or from an
        entered one listed at least TYPO_POPULARITY_RATIO times as often, joins that skill; the
        others become skills of their own. ``listed``: how many lists hold each skill id."""
        docs, doc_entry, doc_key = [], [], []
        for index in range(self.curated_count):
            spellings = [self.names[index], *self.aliases_of[index]]
            for number, spelling in enumerate(spellings):
                key = match_key(spelling)
                # Abbreviations ("k8s", "dsa") and two-letter names only match as typed: as
                # n-grams they are noise.
                if len(key) > (2 if number == 0 else 3):
                    docs.append(_fuzzy_text(spelling))
                    doc_entry.append(index)
                    doc_key.append(key)
        curated_docs = len(docs)

        def times_listed(rows):
            return sum(int(listed[skill_id]) for skill_id, _name in rows if 0 <= skill_id < len(listed))

        # The most listed first, so that a misspelling meets its original before itself.
        typed = sorted(
            ((key, rows, times_listed(rows)) for key, rows in unmatched.items()), key=lambda t: -t[2]
        )
        docs.extend(_fuzzy_text(rows[0][1]) for _key, rows, _count in typed)
        self.vectorizer = None
        if not docs:
            self.doc_matrix = sparse.csr_matrix((0, 0), dtype=np.float32)
        else:
            # (1, 3) rather than longer n-grams: skill names are short, and one swapped or dropped
            # letter spoils every n-gram that spans it.
            self.vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32
            )
            self.doc_matrix = self.vectorizer.fit_transform(docs).tocsr()
        similar = (self.doc_matrix[curated_docs:] @ self.doc_matrix.T).tocsr() if typed else None
        same_letters = {}
        for doc in range(curated_docs):
            same_letters.setdefault(_letters(doc_key[doc]), []).append(doc)
        for number, (key, rows, count) in enumerate(typed):
            doc = curated_docs + number
            candidates = [*same_letters.get(_letters(key), ()), *self._closest(similar, number)]
            entry, needed = None, TYPO_POPULARITY_RATIO * max(count, 1)
            for other in candidates:
                if other >= doc or doc_key[other] is None:
                    continue  # itself, one listed less often, or a misspelling itself
                if other >= curated_docs and typed[other - curated_docs][2] < needed:
                    continue  # not listed often enough to be the original
                if _is_misspelling(key, doc_key[other]):
                    entry = doc_entry[other]
                    break
            if entry is None:
                entry = len(self.names)
                self.names.append(rows[0][1])
                self.categories.append(None)
                self.aliases_of.append(())
                self.exact[key] = (entry, _NAME)
                doc_key.append(key)
                same_letters.setdefault(_letters(key), []).append(doc)
            else:
                self.exact[key] = (entry, _SPELLING)
                doc_key.append(None)  # this row of the matrix is never searched
            doc_entry.append(entry)
            for skill_id, _name in rows:
                self.skill_entry[skill_id] = entry
        self.doc_entry = np.array(doc_entry, dtype=np.int64)
        self.doc_key = doc_key
        self.size = len(self.names)
        self.curated = np.arange(self.size) < self.curated_count
        self.name_length = np.array([len(n) for n in self.names], dtype=np.float32)

    @staticmethod
    def _closest(similar, row):
        """The documents most similar to one entered skill, best first."""
        start, end = similar.indptr[row], similar.indptr[row + 1]
        scores = similar.data[start:end]
        best = np.argsort(-scores)[:MISSPELLING_CANDIDATES]
        return similar.indices[start:end][best[scores[best] >= MISSPELLING_MIN_COSINE]].tolist()

    def _usage_and_cooccurrence(self, pairs):
        if len(pairs) and self.skill_entry:
            skill_ids = np.fromiter(self.skill_entry, dtype=np.int64)
            entry_of = np.full(max(int(skill_ids.max()), int(pairs[:, 1].max())) + 1, -1, dtype=np.int64)
            entry_of[skill_ids] = np.fromiter(self.skill_entry.values(), dtype=np.int64)
            cols = entry_of[pairs[:, 1]]
            known = cols >= 0
            cols = cols[known]
        else:
            cols = np.zeros(0, dtype=np.int64)
        if len(cols):
            _keys, rows = np.unique(pairs[known, 0], return_inverse=True)
            x = sparse.csr_matrix(
                (np.ones(len(cols), dtype=np.float32), (rows.ravel(), cols)),
                shape=(int(rows.max()) + 1, self.size),
            )
            x.sum_duplicates()
            x.data[:] = 1.0  # a list holding "ML" and "Machine Learning" counts once
        else:
            x = sparse.csr_matrix((0, self.size), dtype=np.float32)
        self.list_count = x.shape[0]
        self.usage = np.asarray(x.sum(axis=0)).ravel()
        self.suggestible = self.curated | (self.usage >= MIN_LISTINGS)
        top = self.usage.max() if self.size else 0
        self.popularity = (np.log1p(self.usage) / math.log1p(top)) if top > 0 else np.zeros(self.size)
        self.related_matrix = self._related_matrix(x)

    def _related_matrix(self, x):
        together = (x.T @ x).tocoo()
        rows, cols, support = together.row, together.col, together.data
        keep = (rows != cols) & (support >= MIN_SUPPORT) & self.suggestible[cols]
        rows, cols, support = rows[keep], cols[keep], support[keep]
        cosine = support / np.sqrt(self.usage[rows] * self.usage[cols])
        score = (cosine * support / (support + SUPPORT_SHRINK)).astype(np.float32)
        # Keep the best RELATED_PER_SKILL per row: sort by row, then by score descending.
        order = np.lexsort((-score, rows))
        rows, cols, score = rows[order], cols[order], score[order]
        starts = np.searchsorted(rows, rows, side="left")
        keep = (np.arange(len(rows)) - starts) < RELATED_PER_SKILL
        return sparse.csr_matrix(
            (score[keep], (rows[keep], cols[keep])), shape=(self.size, self.size), dtype=np.float32
        )

    def _search_structures(self):
        """The sorted keys for prefix search, and the n-gram → document matrix for fuzzy search,
        both over the skills that may be suggested."""
        keys, key_entry, key_kind = [], [], []
        for index in np.flatnonzero(self.suggestible).tolist():
            name = self.names[index]
            keys.append(match_key(name))
            key_entry.append(index)
            key_kind.append(_NAME)
            words = _fuzzy_text(name).split(" ")
            for start in range(1, len(words)):
                if words[start] not in _LINKING_WORDS:
                    keys.append(match_key("".join(words[start:])))
                    key_entry.append(index)
                    key_kind.append(_WORD)
            for alias in self.aliases_of[index]:
                keys.append(match_key(alias))
                key_entry.append(index)
                key_kind.append(_ALIAS)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self.prefix_keys = [keys[i] for i in order]
        self.prefix_entry = np.array([key_entry[i] for i in order], dtype=np.int64)
        self.prefix_kind = np.array([key_kind[i] for i in order], dtype=np.int8)

        searched = np.flatnonzero(
            np.array([key is not None for key in self.doc_key], dtype=bool) & self.suggestible[self.doc_entry]
        )
        self.search_doc_entry = self.doc_entry[searched]
        self.search_doc_key = [self.doc_key[d] for d in searched.tolist()]
        # Swapped letters break n-grams but keep the letters: "jvaa" finds "java" here.
        self.search_same_letters = {}
        for number, key in enumerate(self.search_doc_key):
            self.search_same_letters.setdefault(_letters(key), []).append(number)
        if self.vectorizer is not None:
            self.analyzer = self.vectorizer.build_analyzer()
            self.gram_index = self.vectorizer.vocabulary_
            self.idf = self.vectorizer.idf_.astype(np.float32)
            # Rows are n-grams: a query reads only the rows of its own n-grams.
            self.grams = self.doc_matrix[searched].T.tocsr()

    # --- answering ---------------------------------------------------------------------------

    def resolve(self, names):
        """Entry numbers of the given skill names, any spelling (unknown names are skipped)."""
        found = []
        for name in names:
            hit = self.exact.get(match_key(name))
            if hit is not None and hit[0] not in found:
                found.append(hit[0])
        return np.array(found, dtype=np.int64)

    def _related_rows(self, chosen):
        """Dense (chosen × skills) scores of how often each skill goes with each chosen one."""
        rows = np.zeros((len(chosen), self.size), dtype=np.float32)
        matrix = self.related_matrix
        for number, entry in enumerate(chosen.tolist()):
            start, end = matrix.indptr[entry], matrix.indptr[entry + 1]
            rows[number, matrix.indices[start:end]] = matrix.data[start:end]
        return rows

    def answer(self, query, *, selected=(), limit=8):
        """(suggestions, related) for one request: the chosen skills are looked up once."""
        chosen = self.resolve(selected)
        rows = self._related_rows(chosen)
        return self._suggest(query, chosen, rows, limit), self._related(chosen, rows, limit)

    def suggest(self, query, *, limit=8, selected=()):
        """Up to ``limit`` Suggestions for what the user typed, none of them already chosen."""
        chosen = self.resolve(selected)
        return self._suggest(query, chosen, self._related_rows(chosen), limit)

    def related(self, selected, *, limit=8):
        """Up to ``limit`` skills often listed with the ``selected`` ones, best first."""
        chosen = self.resolve(selected)
        return self._related(chosen, self._related_rows(chosen), limit)

    def _prior(self, entries, query_length, context):
        """Tie-breaks within a kind of match, in [0, 1): popular, curated, goes with the chosen
        skills, and not much longer than what was typed."""
        extra = np.maximum(self.name_length[entries] - query_length, 0)
        prior = 0.45 * self.popularity[entries] + 0.15 * self.curated[entries] + 0.1 / (1 + extra / 8)
        top = context.max() if len(context) else 0
        if top > 0:
            prior = prior + 0.3 * context[entries] / top
        return prior

    def _suggest(self, query, chosen, rows, limit):
        key = match_key(query)
        if not key or limit < 1:
            return []
        context = rows.sum(axis=0)
        found_entries, found_scores, found_kinds = [], [], []

        def found(entries, scores, kinds):
            found_entries.append(np.asarray(entries, dtype=np.int64))
            found_scores.append(np.asarray(scores, dtype=np.float64))
            found_kinds.append(np.asarray(kinds, dtype=np.int8))

        hit = self.exact.get(key)
        if hit is not None and self.suggestible[hit[0]]:
            entry, kind = hit
            if kind == _NAME:
                found([entry], [TIER_EXACT], [_MATCH_EXACT])
            elif kind == _ALIAS:
                found([entry], [TIER_ALIAS], [_MATCH_ALIAS])
            else:  # typed exactly like a misspelling people made before: the best fuzzy match
                found([entry], 1 + 0.15 * self._prior(np.array([entry]), len(key), context), [_MATCH_FUZZY])

        low = bisect.bisect_left(self.prefix_keys, key)
        high = bisect.bisect_left(self.prefix_keys, key + "\U0010ffff", lo=low)
        if high > low:
            entries, kinds = self.prefix_entry[low:high], self.prefix_kind[low:high]
            scores = TIER_PREFIX[kinds] + self._prior(entries, len(key), context)
            found(entries, scores, np.full(len(entries), _MATCH_PREFIX))

        if len(key) >= FUZZY_MIN_QUERY:
            entries, scores = self._fuzzy(query, key)
            if len(entries):
                scores = scores + 0.15 * self._prior(entries, len(key), context)
                found(entries, scores, np.full(len(entries), _MATCH_FUZZY))

        if not found_entries:
            return []
        entries = np.concatenate(found_entries)
        scores = np.concatenate(found_scores)
        kinds = np.concatenate(found_kinds)
        keep = ~np.isin(entries, chosen)
        entries, scores, kinds = entries[keep], scores[keep], kinds[keep]
        order = np.argsort(-scores, kind="stable")
        _unique, first = np.unique(entries[order], return_index=True)
        best = order[np.sort(first)][:limit]
        return [
            Suggestion(self.names[e], self.categories[e], MATCH_NAMES[k])
            for e, k in zip(entries[best].tolist(), kinds[best].tolist(), strict=True)
        ]

    def _fuzzy(self, query, key):
        """(entries, scores in [0, 1]) of names and aliases that look like a misspelling of the
        query: TF-IDF cosine over character n-grams, the best re-ranked by edit distance."""
        if self.vectorizer is None or not len(self.search_doc_entry):
            return (), ()
        counts = Counter(self.analyzer(_fuzzy_text(query)))
        grams = [(self.gram_index[g], n) for g, n in counts.items() if g in self.gram_index]
        if not grams:
            return (), ()
        weights = np.array([(1.0 + math.log(n)) * self.idf[g] for g, n in grams], dtype=np.float32)
        weights /= np.linalg.norm(weights)
        # The cosine with every document: a weighted sum of the query's n-gram rows.
        indptr, indices, data = self.grams.indptr, self.grams.indices, self.grams.data
        spans = [(indptr[g], indptr[g + 1]) for g, _n in grams]
        cosine = np.bincount(
            np.concatenate([indices[a:b] for a, b in spans]),
            weights=np.concatenate([data[a:b] * w for (a, b), w in zip(spans, weights, strict=True)]),
            minlength=len(self.search_doc_entry),
        )
        count = min(FUZZY_CANDIDATES, len(cosine))
        docs = np.argpartition(-cosine, count - 1)[:count]
        docs = docs[cosine[docs] >= FUZZY_MIN_COSINE]
        docs = docs[np.argsort(-cosine[docs], kind="stable")]
        if len(key) >= 4 and (swapped := self.search_same_letters.get(_letters(key))):
            docs = np.concatenate([np.array(swapped, dtype=np.int64), docs])
        # The best-scoring spelling of each skill, for the few best skills.
        _unique, first = np.unique(self.search_doc_entry[docs], return_index=True)
        docs = docs[np.sort(first)][:FUZZY_RERANK]
        if len(key) <= EDIT_MAX_QUERY:
            typo = np.array([_typo_similarity(key, self.search_doc_key[d]) for d in docs.tolist()])
            scores = 0.4 * cosine[docs] + 0.6 * typo
        else:
            scores = cosine[docs]
        keep = scores >= FUZZY_MIN_SCORE
        return self.search_doc_entry[docs[keep]], scores[keep]

    def _related(self, chosen, rows, limit):
        if not len(chosen) or limit < 1:
            return []
        context = rows.sum(axis=0)
        context[chosen] = 0
        candidates = np.flatnonzero(context > 0)
        if not len(candidates):
            return []
        best = candidates[np.argsort(-context[candidates], kind="stable")[:limit]]
        strongest = rows[:, best].argmax(axis=0)
        return [
            Related(self.names[e], self.categories[e], self.names[chosen[s]])
            for e, s in zip(best.tolist(), strongest.tolist(), strict=True)
        ]
