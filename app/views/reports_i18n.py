"""English and Spanish text for the public pages (damage report, status link, typed codes)."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, session

from app.models import TicketCategory, TicketStatus

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"

CATEGORIES = {
    "en": {
        TicketCategory.cracked_screen: "Cracked screen",
        TicketCategory.keyboard_trackpad: "Keyboard or trackpad",
        TicketCategory.wont_charge: "Won't charge",
        TicketCategory.wont_turn_on: "Won't turn on",
        TicketCategory.liquid: "Liquid spilled on it",
        TicketCategory.missing_keys: "Missing keys",
        TicketCategory.camera_sound: "Camera or sound",
        TicketCategory.other: "Something else",
    },
    "es": {
        TicketCategory.cracked_screen: "Pantalla rota",
        TicketCategory.keyboard_trackpad: "Teclado o panel táctil",
        TicketCategory.wont_charge: "No carga",
        TicketCategory.wont_turn_on: "No enciende",
        TicketCategory.liquid: "Se le derramó líquido",
        TicketCategory.missing_keys: "Faltan teclas",
        TicketCategory.camera_sound: "Cámara o sonido",
        TicketCategory.other: "Otra cosa",
    },
}

STATUSES = {
    "en": {
        TicketStatus.new: "Received: waiting for a technician",
        TicketStatus.triaged: "Looked at: a technician has checked the report",
        TicketStatus.in_repair: "Being repaired",
        TicketStatus.waiting_parts: "Waiting for parts",
        TicketStatus.warranty_claim: "Sent for warranty repair",
        TicketStatus.resolved: "Fixed",
        TicketStatus.closed: "Closed",
    },
    "es": {
        TicketStatus.new: "Recibido: esperando a un técnico",
        TicketStatus.triaged: "Revisado: un técnico ya vio el reporte",
        TicketStatus.in_repair: "En reparación",
        TicketStatus.waiting_parts: "Esperando piezas",
        TicketStatus.warranty_claim: "Enviado a reparación por garantía",
        TicketStatus.resolved: "Reparado",
        TicketStatus.closed: "Cerrado",
    },
}

TEXT = {
    "en": {
        "report_title": "Report a problem with this device",
        "device": "Device",
        "model": "Model",
        "intro": "Tell us what is wrong and a technician will look at it. You do not need to sign in.",
        "category": "What is wrong?",
        "description": "Describe the problem",
        "description_hint": "What happened, and what does the device do now?",
        "photo": "Photo (optional)",
        "photo_hint": "Take a picture of the damage. Up to 10 MB.",
        "about_you": "About you (optional)",
        "about_you_hint": "Only the repair staff see this. It helps us reach you.",
        "name": "Your name",
        "student_id": "Student ID",
        "email": "Email",
        "website": "Leave this empty",
        "submit": "Send the report",
        "belongs_to": "This device belongs to {campus}.",
        "done_title": "Report received",
        "done_number": "Your ticket number is",
        "done_link": "Keep this private link to check on the repair:",
        "done_link_text": "Check the status",
        "done_again": "Report another problem",
        "done_thanks": "Thank you. A technician will look at it.",
        "status_title": "Repair status",
        "status_now": "Status",
        "type_title": "Type the code from the sticker",
        "type_label": "Code",
        "type_hint": "Ten letters and numbers, like 7K3QD-X9M2P. Capitals and dashes do not matter.",
        "type_submit": "Find the device",
        "unknown_title": "We don't know that code",
        "unknown_body": "The code may be mistyped, or the sticker may have been replaced. Try typing it again:",
        "room_title": "This is a room's tag",
        "room_body": "Room stickers are for staff taking inventory. To report a broken device, scan the sticker "
        "on the device itself.",
        "limited_title": "Too many reports",
        "limited_body": "We have received many reports from here or for this device. Please try again later, "
        "or tell a teacher.",
        "err_category": "Choose what is wrong.",
        "err_description": "Describe what is wrong.",
        "err_photo_large": "That photo is too large; the limit is {mb} MB.",
        "err_photo_bad": "That file is not a photo we can read. Use a JPEG, PNG, WebP or HEIC picture.",
        "err_photo_big": "That picture is too big for us to open. Take a new photo with the camera, or send the "
        "report without one.",
        "err_code": "That doesn't look like a sticker code: it has ten letters and numbers.",
        "err_code_unknown": "No device or room has that code.",
        "language": "Language",
    },
    "es": {
        "report_title": "Reportar un problema con este dispositivo",
        "device": "Dispositivo",
        "model": "Modelo",
        "intro": "Cuéntanos qué pasa y un técnico lo revisará. No necesitas iniciar sesión.",
        "category": "¿Qué pasa?",
        "description": "Describe el problema",
        "description_hint": "¿Qué pasó y qué hace el dispositivo ahora?",
        "photo": "Foto (opcional)",
        "photo_hint": "Toma una foto del daño. Hasta 10 MB.",
        "about_you": "Sobre ti (opcional)",
        "about_you_hint": "Solo el personal de reparación lo ve. Nos ayuda a contactarte.",
        "name": "Tu nombre",
        "student_id": "Número de estudiante",
        "email": "Correo electrónico",
        "website": "Deja esto vacío",
        "submit": "Enviar el reporte",
        "belongs_to": "Este dispositivo pertenece a {campus}.",
        "done_title": "Reporte recibido",
        "done_number": "Tu número de ticket es",
        "done_link": "Guarda este enlace privado para ver cómo va la reparación:",
        "done_link_text": "Ver el estado",
        "done_again": "Reportar otro problema",
        "done_thanks": "Gracias. Un técnico lo revisará.",
        "status_title": "Estado de la reparación",
        "status_now": "Estado",
        "type_title": "Escribe el código de la etiqueta",
        "type_label": "Código",
        "type_hint": "Diez letras y números, como 7K3QD-X9M2P. No importan las mayúsculas ni los guiones.",
        "type_submit": "Buscar el dispositivo",
        "unknown_title": "No conocemos ese código",
        "unknown_body": "Puede que el código esté mal escrito o que la etiqueta se haya cambiado. "
        "Intenta escribirlo otra vez:",
        "room_title": "Esta es la etiqueta de un salón",
        "room_body": "Las etiquetas de salón son para el personal que hace inventario. Para reportar un dispositivo "
        "dañado, escanea la etiqueta del dispositivo.",
        "limited_title": "Demasiados reportes",
        "limited_body": "Hemos recibido muchos reportes desde aquí o para este dispositivo. Inténtalo más tarde "
        "o avisa a un maestro.",
        "err_category": "Elige qué pasa.",
        "err_description": "Describe qué pasa.",
        "err_photo_large": "La foto es demasiado grande; el límite es {mb} MB.",
        "err_photo_bad": "Ese archivo no es una foto que podamos leer. Usa una imagen JPEG, PNG, WebP o HEIC.",
        "err_photo_big": "Esa imagen es demasiado grande para abrirla. Toma una foto nueva con la cámara o envía "
        "el reporte sin foto.",
        "err_code": "Eso no parece un código de etiqueta: tiene diez letras y números.",
        "err_code_unknown": "Ningún dispositivo ni salón tiene ese código.",
        "language": "Idioma",
    },
}


def pick_lang() -> str:
    """?lang= (remembered in the session), else the session's choice, else the browser's Accept-Language."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    kept = session.get("lang")
    if kept in LANGUAGES:
        return kept
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """t(key, **fields) in the chosen language, falling back to English."""
    table = TEXT.get(lang, TEXT[DEFAULT])

    def t(key: str, **fields: str) -> str:
        text = table.get(key) or TEXT[DEFAULT][key]
        return text.format(**fields) if fields else text

    return t


def public_context(lang: str) -> dict:
    """What every public page template needs: the language, t(), and category and status names."""
    return {
        "lang": lang,
        "t": translator(lang),
        "languages": LANGUAGES,
        "category_names": CATEGORIES[lang],
        "status_names": STATUSES[lang],
    }
