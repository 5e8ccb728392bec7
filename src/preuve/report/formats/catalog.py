"""The fixed texts of the reports, in every language preuve speaks (``--lang``).

One catalogue: a message id, then its text in each language, with ``{name}`` placeholders filled
by :meth:`Messages.__call__`. A message missing in a language falls back to English, and a test
checks that every language has every message, so that a report never mixes languages silently.
Written as a plain table rather than gettext files: the reports hold a few dozen texts, and a
table keeps each translation beside its English original, where a reviewer sees both.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "fr", "es")

_MESSAGES: dict[str, dict[str, str]] = {
    "title": {
        "en": "preuve report",
        "fr": "Rapport preuve",
        "es": "Informe de preuve",
    },
    "verdict.spyware": {
        "en": "Traces of known spyware found",
        "fr": "Traces de logiciels espions connus trouvées",
        "es": "Se encontraron rastros de programas espía conocidos",
    },
    "verdict.suspicious": {
        "en": "Suspicious signs worth an expert's look",
        "fr": "Signes suspects à faire examiner par un expert",
        "es": "Señales sospechosas que un experto debe revisar",
    },
    "verdict.nothing": {
        "en": "Nothing found in what could be checked",
        "fr": "Rien trouvé dans ce qui a pu être vérifié",
        "es": "Nada encontrado en lo que se pudo revisar",
    },
    "verdict.suspicious_heuristics_only": {
        "en": "Suspicious signs worth an expert's look (heuristics only: no indicator loaded)",
        "fr": "Signes suspects à faire examiner par un expert (heuristiques seules : aucun indicateur chargé)",
        "es": "Señales sospechosas que un experto debe revisar (solo heurísticas: ningún indicador cargado)",
    },
    "verdict.heuristics_only": {
        "en": "Heuristics only: no spyware indicator was loaded, known spyware could not be recognised",
        "fr": "Heuristiques seules : aucun indicateur de logiciel espion chargé, les logiciels espions connus ne pouvaient pas être reconnus",
        "es": "Solo heurísticas: no se cargó ningún indicador, no se podían reconocer programas espía conocidos",
    },
    "verdict.incomplete": {
        "en": "Incomplete check: nothing found in what could be read, but part of the acquisition could not be read",
        "fr": "Vérification incomplète : rien trouvé dans ce qui a pu être lu, mais une partie de l'acquisition n'a pas pu être lue",
        "es": "Revisión incompleta: nada encontrado en lo que se pudo leer, pero parte de la adquisición no se pudo leer",
    },
    "verdict.selected": {
        "en": "Partial check: nothing found in the artifacts asked for, the others were not checked",
        "fr": "Vérification partielle : rien trouvé dans les éléments demandés, les autres n'ont pas été vérifiés",
        "es": "Revisión parcial: nada encontrado en los elementos pedidos, los demás no se revisaron",
    },
    "verdict.no_heuristics": {
        "en": "Indicators only: nothing matched, but heuristic rules were turned off",
        "fr": "Indicateurs seuls : rien ne correspond, mais les règles heuristiques étaient désactivées",
        "es": "Solo indicadores: nada coincidió, pero las reglas heurísticas estaban desactivadas",
    },
    "verdict.nothing_checked": {
        "en": "Nothing was checked: no artifact found a file to read in this acquisition",
        "fr": "Rien n'a été vérifié : aucun élément n'a trouvé de fichier à lire dans cette acquisition",
        "es": "No se revisó nada: ningún elemento encontró un archivo que leer en esta adquisición",
    },
    "verdict.partial_acquisition": {
        "en": "Partial acquisition: nothing found in what it holds, but it holds only part of a phone",
        "fr": "Acquisition partielle : rien trouvé dans ce qu'elle contient, mais elle ne contient qu'une partie d'un téléphone",
        "es": "Adquisición parcial: nada encontrado en lo que contiene, pero solo contiene parte de un teléfono",
    },
    "sure.strong": {
        "en": "How sure: strong. The evidence shows published indicators of {malware}.",
        "fr": "Degré de certitude : élevé. Les données montrent des indicateurs publiés de {malware}.",
        "es": "Certeza: alta. La evidencia muestra indicadores publicados de {malware}.",
    },
    "sure.moderate": {
        "en": "How sure: moderate. No published indicator matched; {count} sign(s) are unusual and need an expert.",
        "fr": "Degré de certitude : moyen. Aucun indicateur publié ne correspond ; {count} signe(s) inhabituel(s) demandent un expert.",
        "es": "Certeza: media. Ningún indicador publicado coincidió; {count} señal(es) inusual(es) requieren un experto.",
    },
    "sure.limited": {
        "en": "How sure: limited to what was checked. A clean result does not prove the phone is clean.",
        "fr": "Degré de certitude : limité à ce qui a été vérifié. Un résultat vide ne prouve pas que le téléphone est sain.",
        "es": "Certeza: limitada a lo revisado. Un resultado limpio no prueba que el teléfono esté limpio.",
    },
    "sure.none": {
        "en": "How sure: not at all for known spyware. No indicator feed was loaded.",
        "fr": "Degré de certitude : nul pour les logiciels espions connus. Aucun flux d'indicateurs n'a été chargé.",
        "es": "Certeza: ninguna para programas espía conocidos. No se cargó ninguna fuente de indicadores.",
    },
    "sure.partial": {
        "en": "How sure: this was not a full check (see Coverage); it cannot be read as a clean result.",
        "fr": "Degré de certitude : ce n'était pas une vérification complète (voir Couverture) ; ce n'est pas un résultat sain.",
        "es": "Certeza: no fue una revisión completa (ver Cobertura); no puede leerse como un resultado limpio.",
    },
    "next.title": {
        "en": "What to do next",
        "fr": "Que faire maintenant",
        "es": "Qué hacer ahora",
    },
    "next.person": {"en": "For the person", "fr": "Pour la personne", "es": "Para la persona"},
    "next.analyst": {"en": "For the analyst", "fr": "Pour l'analyste", "es": "Para quien analiza"},
    "next.person.spyware": {
        "en": "Keep the phone as it is: do not reset, update or wipe it, it is evidence. Move sensitive "
              "conversations to another device you trust, and contact a digital-security helpline (for "
              "example Access Now's, help@accessnow.org) or Amnesty's Security Lab.",
        "fr": "Gardez le téléphone tel quel : ne le réinitialisez pas, ne le mettez pas à jour, ne l'effacez "
              "pas, c'est une preuve. Passez les conversations sensibles sur un autre appareil de confiance et "
              "contactez une ligne d'assistance en sécurité numérique (par exemple celle d'Access Now, "
              "help@accessnow.org) ou le Security Lab d'Amnesty.",
        "es": "Conserve el teléfono tal como está: no lo restablezca, actualice ni borre, es una prueba. "
              "Pase las conversaciones sensibles a otro dispositivo de confianza y contacte una línea de "
              "ayuda en seguridad digital (por ejemplo la de Access Now, help@accessnow.org) o el Security "
              "Lab de Amnistía.",
    },
    "next.person.suspicious": {
        "en": "Keep the phone as it is until an expert has looked: do not reset or wipe it. Until then, "
              "avoid sensitive conversations on it.",
        "fr": "Gardez le téléphone tel quel jusqu'à l'avis d'un expert : ne le réinitialisez pas. D'ici là, "
              "évitez les conversations sensibles sur cet appareil.",
        "es": "Conserve el teléfono tal como está hasta que lo revise un experto: no lo restablezca. "
              "Mientras tanto, evite conversaciones sensibles en él.",
    },
    "next.person.nothing": {
        "en": "Nothing known was found in what was checked. Keep the phone updated, and come back if "
              "something new worries you: new indicators are published as investigations go on.",
        "fr": "Rien de connu n'a été trouvé dans ce qui a été vérifié. Gardez le téléphone à jour et "
              "revenez si quelque chose vous inquiète : de nouveaux indicateurs sont publiés au fil des enquêtes.",
        "es": "No se encontró nada conocido en lo revisado. Mantenga el teléfono actualizado y vuelva si "
              "algo le preocupa: se publican nuevos indicadores a medida que avanzan las investigaciones.",
    },
    "next.person.partial": {
        "en": "This is not a clean result: the check was not complete. Keep the phone as it is until the "
              "analyst has checked it fully.",
        "fr": "Ce n'est pas un résultat sain : la vérification n'était pas complète. Gardez le téléphone tel "
              "quel jusqu'à ce que l'analyste l'ait entièrement vérifié.",
        "es": "No es un resultado limpio: la revisión no fue completa. Conserve el teléfono tal como está hasta "
              "que quien analiza lo haya revisado por completo.",
    },
    "next.analyst.selected": {
        "en": "Only some artifacts were checked (--artifact): check the whole acquisition before concluding.",
        "fr": "Seuls certains éléments ont été vérifiés (--artifact) : vérifiez toute l'acquisition avant de conclure.",
        "es": "Solo se revisaron algunos elementos (--artifact): revise toda la adquisición antes de concluir.",
    },
    "next.analyst.spyware": {
        "en": "Confirm each finding with `preuve verify`, keep the acquisition and this folder unchanged, "
              "and share the bundle (bundle.json) with the team that published the indicators.",
        "fr": "Confirmez chaque constat avec `preuve verify`, conservez l'acquisition et ce dossier intacts, "
              "et partagez le paquet de preuve (bundle.json) avec l'équipe qui a publié les indicateurs.",
        "es": "Confirme cada hallazgo con `preuve verify`, conserve la adquisición y esta carpeta sin cambios "
              "y comparta el paquete de prueba (bundle.json) con el equipo que publicó los indicadores.",
    },
    "next.analyst.more_ios": {
        "en": "A backup holds only part of an iPhone. For more, acquire a sysdiagnose (shutdown.log, "
              "process lists) and, where possible, a full file-system dump, then check them too.",
        "fr": "Une sauvegarde ne contient qu'une partie d'un iPhone. Pour aller plus loin, faites un "
              "sysdiagnose (shutdown.log, listes de processus) et, si possible, une copie complète du "
              "système de fichiers, puis vérifiez-les aussi.",
        "es": "Una copia de seguridad solo contiene parte de un iPhone. Para más, obtenga un sysdiagnose "
              "(shutdown.log, listas de procesos) y, si es posible, un volcado completo del sistema de "
              "archivos, y revíselos también.",
    },
    "next.analyst.more_android": {
        "en": "For more, acquire the phone with AndroidQF (packages, processes, settings, a bugreport) and, "
              "on Android 16 with Advanced Protection, its intrusion logs, then check them too.",
        "fr": "Pour aller plus loin, faites une acquisition AndroidQF (paquets, processus, réglages, un "
              "bugreport) et, sur Android 16 avec la Protection avancée, ses journaux d'intrusion, puis "
              "vérifiez-les aussi.",
        "es": "Para más, adquiera el teléfono con AndroidQF (paquetes, procesos, ajustes, un bugreport) y, "
              "en Android 16 con Protección avanzada, sus registros de intrusión, y revíselos también.",
    },
    "next.analyst.feeds": {
        "en": "Load indicator feeds (`preuve iocs update`, or --iocs) and check again: without them known "
              "spyware is not recognised.",
        "fr": "Chargez des flux d'indicateurs (`preuve iocs update`, ou --iocs) et relancez : sans eux, les "
              "logiciels espions connus ne sont pas reconnus.",
        "es": "Cargue fuentes de indicadores (`preuve iocs update`, o --iocs) y revise de nuevo: sin ellas no "
              "se reconocen los programas espía conocidos.",
    },
    "next.analyst.incomplete": {
        "en": "Part of the acquisition could not be read (see Coverage): acquire it again and check again "
              "before drawing conclusions.",
        "fr": "Une partie de l'acquisition n'a pas pu être lue (voir Couverture) : refaites-la et relancez "
              "avant de conclure.",
        "es": "Parte de la adquisición no se pudo leer (ver Cobertura): adquiérala de nuevo y revise otra "
              "vez antes de sacar conclusiones.",
    },
    "device.title": {"en": "Device and acquisition", "fr": "Appareil et acquisition", "es": "Dispositivo y adquisición"},
    "device.acquisition": {"en": "Acquisition", "fr": "Acquisition", "es": "Adquisición"},
    "device.evidence": {"en": "Evidence", "fr": "Données examinées", "es": "Evidencia"},
    "device.checked": {"en": "Checked", "fr": "Vérifié le", "es": "Revisado el"},
    "device.tool": {"en": "Tool", "fr": "Outil", "es": "Herramienta"},
    "device.feeds": {"en": "Indicator feeds", "fr": "Flux d'indicateurs", "es": "Fuentes de indicadores"},
    "device.nofeeds": {"en": "none (heuristics only)", "fr": "aucun (heuristiques seules)", "es": "ninguna (solo heurísticas)"},
    "device.files": {"en": "Evidence files and their SHA-256 ({count})", "fr": "Fichiers examinés et leur SHA-256 ({count})", "es": "Archivos de evidencia y su SHA-256 ({count})"},
    "device.indicators": {"en": "{count} indicator(s)", "fr": "{count} indicateur(s)", "es": "{count} indicador(es)"},
    "coverage.title": {"en": "Coverage", "fr": "Couverture", "es": "Cobertura"},
    "coverage.checked": {"en": "Checked ({count})", "fr": "Vérifié ({count})", "es": "Revisado ({count})"},
    "coverage.empty": {"en": "Present but empty ({count})", "fr": "Présent mais vide ({count})", "es": "Presente pero vacío ({count})"},
    "coverage.failed": {"en": "Could not be read ({count})", "fr": "Illisible ({count})", "es": "No se pudo leer ({count})"},
    "coverage.absent": {"en": "Expected here but absent ({count})", "fr": "Attendu ici mais absent ({count})", "es": "Esperado aquí pero ausente ({count})"},
    "coverage.not_present": {
        "en": "Not in this acquisition: app not used, or its data not kept ({count})",
        "fr": "Absent de cette acquisition : application non utilisée, ou données non conservées ({count})",
        "es": "No está en esta adquisición: aplicación no usada, o datos no guardados ({count})",
    },
    "coverage.not_collected": {"en": "Not collected by this kind of acquisition ({count})", "fr": "Non collecté par ce type d'acquisition ({count})", "es": "No recogido por este tipo de adquisición ({count})"},
    "coverage.excluded": {"en": "Left out on request ({count})", "fr": "Exclu à la demande ({count})", "es": "Excluido a petición ({count})"},
    "coverage.damaged": {
        "en": "The acquisition is damaged: {problem}.",
        "fr": "L'acquisition est endommagée : {problem}.",
        "es": "La adquisición está dañada: {problem}.",
    },
    "coverage.no_feeds": {
        "en": "No indicator was loaded: known spyware could not be recognised, only heuristics ran.",
        "fr": "Aucun flux d'indicateurs chargé : les logiciels espions connus ne pouvaient pas être reconnus, seules les heuristiques ont tourné.",
        "es": "No se cargó ninguna fuente de indicadores: no se podían reconocer programas espía conocidos, solo se aplicaron heurísticas.",
    },
    "coverage.no_rules": {"en": "Heuristic rules were turned off.", "fr": "Les règles heuristiques étaient désactivées.", "es": "Las reglas heurísticas estaban desactivadas."},
    "findings.title": {"en": "Findings ({count})", "fr": "Constats ({count})", "es": "Hallazgos ({count})"},
    "findings.none": {"en": "No findings.", "fr": "Aucun constat.", "es": "Ningún hallazgo."},
    "findings.filter.severity": {"en": "Severity", "fr": "Gravité", "es": "Gravedad"},
    "findings.filter.search": {"en": "Search", "fr": "Rechercher", "es": "Buscar"},
    "findings.shown": {"en": "shown", "fr": "affiché(s)", "es": "mostrado(s)"},
    "findings.cut": {
        "en": "Only the first {count} findings are shown here; all are in findings.json.",
        "fr": "Seuls les {count} premiers constats sont affichés ici ; tous sont dans findings.json.",
        "es": "Aquí solo se muestran los primeros {count} hallazgos; todos están en findings.json.",
    },
    "card.seen": {"en": "What was seen", "fr": "Ce qui a été vu", "es": "Qué se vio"},
    "card.when": {"en": "When", "fr": "Quand", "es": "Cuándo"},
    "card.device_time": {"en": "device time", "fr": "heure de l'appareil", "es": "hora del dispositivo"},
    "card.undated": {"en": "no date in the record", "fr": "pas de date dans l'enregistrement", "es": "sin fecha en el registro"},
    "card.strength": {"en": "Evidence", "fr": "Force de la preuve", "es": "Evidencia"},
    "card.why": {"en": "Why it matters", "fr": "Pourquoi c'est important", "es": "Por qué importa"},
    "card.details": {"en": "Details (proof)", "fr": "Détails (preuve)", "es": "Detalles (prueba)"},
    "card.file": {"en": "File", "fr": "Fichier", "es": "Archivo"},
    "card.file_sha": {"en": "File SHA-256", "fr": "SHA-256 du fichier", "es": "SHA-256 del archivo"},
    "card.where": {"en": "Inside the file", "fr": "Dans le fichier", "es": "Dentro del archivo"},
    "card.record_sha": {"en": "Record SHA-256", "fr": "SHA-256 de l'enregistrement", "es": "SHA-256 del registro"},
    "card.indicator": {"en": "Indicator", "fr": "Indicateur", "es": "Indicador"},
    "card.stix": {"en": "STIX id", "fr": "Identifiant STIX", "es": "Id STIX"},
    "card.feed": {"en": "Feed", "fr": "Flux", "es": "Fuente"},
    "card.rule": {"en": "Rule", "fr": "Règle", "es": "Regla"},
    "card.source": {"en": "Published by", "fr": "Publié par", "es": "Publicado por"},
    "card.members": {"en": "All {count} occurrences", "fr": "Les {count} occurrences", "es": "Las {count} apariciones"},
    "card.more_members": {
        "en": "{count} more in findings.json.", "fr": "{count} de plus dans findings.json.",
        "es": "{count} más en findings.json.",
    },
    "card.finding_id": {"en": "Finding id", "fr": "Identifiant du constat", "es": "Id del hallazgo"},
    "card.timeline": {"en": "on the timeline", "fr": "sur la chronologie", "es": "en la cronología"},
    "card.indicator_text": {
        "en": "This {kind} was published as a trace of {malware} (feed {feed}): its presence on the phone is a sign of that spyware.",
        "fr": "Ce {kind} a été publié comme trace de {malware} (flux {feed}) : sa présence sur le téléphone est un signe de ce logiciel espion.",
        "es": "Este {kind} se publicó como rastro de {malware} (fuente {feed}): su presencia en el teléfono es señal de ese programa espía.",
    },
    "group.count": {"en": "{count} finding(s)", "fr": "{count} constat(s)", "es": "{count} hallazgo(s)"},
    "timeline.title": {"en": "Timeline", "fr": "Chronologie", "es": "Cronología"},
    "timeline.records": {"en": "records per {unit}", "fr": "enregistrements par {unit}", "es": "registros por {unit}"},
    "timeline.window": {
        "en": "The days around the findings ({start} to {end})",
        "fr": "Les jours autour des constats (du {start} au {end})",
        "es": "Los días alrededor de los hallazgos (del {start} al {end})",
    },
    "timeline.none": {"en": "No dated records: nothing to draw.", "fr": "Aucun enregistrement daté : rien à tracer.", "es": "Ningún registro fechado: nada que dibujar."},
    "timeline.legend.records": {"en": "records", "fr": "enregistrements", "es": "registros"},
    "timeline.legend.finding": {"en": "finding ({severity})", "fr": "constat ({severity})", "es": "hallazgo ({severity})"},
    "unit.day": {"en": "day", "fr": "jour", "es": "día"},
    "unit.week": {"en": "week", "fr": "semaine", "es": "semana"},
    "unit.month": {"en": "month", "fr": "mois", "es": "mes"},
    "severity.critical": {"en": "critical", "fr": "critique", "es": "crítica"},
    "severity.high": {"en": "high", "fr": "haute", "es": "alta"},
    "severity.medium": {"en": "medium", "fr": "moyenne", "es": "media"},
    "severity.low": {"en": "low", "fr": "basse", "es": "baja"},
    "severity.info": {"en": "info", "fr": "info", "es": "info"},
    "footer": {
        "en": "Made by preuve {version}. Anyone holding the same evidence can re-derive every finding with `preuve verify`.",
        "fr": "Produit par preuve {version}. Quiconque détient les mêmes données peut retrouver chaque constat avec `preuve verify`.",
        "es": "Generado por preuve {version}. Cualquiera con la misma evidencia puede volver a obtener cada hallazgo con `preuve verify`.",
    },
}


@dataclass(frozen=True, slots=True)
class Messages:
    """The texts of one language: ``t("verdict.spyware")``, ``t("findings.title", count=3)``."""

    lang: str = "en"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValueError(f"unknown language {self.lang!r}: one of {', '.join(LANGUAGES)}")

    def __call__(self, key: str, **values: object) -> str:
        entry = _MESSAGES[key]
        text = entry.get(self.lang) or entry["en"]
        return text.format(**values) if values else text


def message_ids() -> list[str]:
    return sorted(_MESSAGES)


def missing_translations() -> list[tuple[str, str]]:
    """(message id, language) pairs without a text: a test keeps this empty."""
    return [(key, lang) for key, entry in sorted(_MESSAGES.items()) for lang in LANGUAGES if not entry.get(lang)]
