# La cornice di ogni pagina, accesso e uscita, errori, date. Tenere allineato con en/core.ftl.

app-name = Consento
app-tagline = Consensi e privacy per il CRM
skip-to-content = Vai al contenuto

nav-dashboard = Cruscotto
nav-contacts = Anagrafiche
nav-newsletter = Newsletter
nav-setup = Impostazioni
nav-audit = Registro attività
nav-account = Il mio account
nav-main = Menu principale
signed-in-as = Accesso come { $name } ({ $role })

role-admin = Amministratore
role-dpo = Responsabile della protezione dei dati
role-operator = Operatore
role-auditor = Revisore

language = Lingua
language-apply = Cambia lingua

login-title = Accedi
login-username = Nome utente
login-password = Password
login-submit = Accedi
login-failed = Nome utente o password errati.
login-locked = Troppi tentativi falliti. Riprovare tra { $minutes ->
        [one] un minuto
       *[other] { $minutes_text } minuti
    }.
login-throttled = Troppi tentativi da questo indirizzo. Attendere un minuto e riprovare.
logout = Esci
done-logged-out = Disconnessione effettuata.
session-ended = La sessione è terminata. Occorre accedere di nuovo.

password-title = Cambia la password
password-must-change = Accesso effettuato con una password monouso: prima di continuare, sceglierne una personale.
password-current = Password attuale
password-new = Nuova password
password-new-hint = Almeno 12 caratteri. Una frase facile da ricordare va benissimo.
password-confirm = Ripeti la nuova password
password-submit = Cambia password
done-password-changed = La password è stata cambiata. Le altre sessioni sono state chiuse.
password-mismatch = Le due nuove password non coincidono.
password-wrong-current = La password attuale è errata.

done-saved = Salvato.
save = Salva
cancel = Annulla
back = Indietro
search = Cerca
yes = Sì
no = No
actions = Azioni
previous-page = Precedenti
next-page = Successivi
required = obbligatorio

error-title = Si è verificato un problema
error-not-found = Questa pagina non esiste, oppure il dato che mostrava non c'è più.
error-forbidden = Il ruolo assegnato non lo consente. Se serve, rivolgersi a un amministratore.
error-csrf = Il modulo è scaduto o non proviene da questo sito. Tornare indietro, ricaricare la pagina e riprovare.
error-internal = Si è verificato un errore imprevisto, già registrato. Riprovare; se si ripete, comunicare all'amministratore il codice { $id }.
error-invalid = Controllare il campo «{ $field }»: { $reason }
error-busy = Il servizio è occupato. Riprovare tra un momento.
error-too-many = Troppe richieste da questo indirizzo. Attendere un minuto e riprovare.
error-too-large = Il file è più grande di quanto questo server accetta. Dividerlo in file più piccoli e caricarli uno alla volta.
error-go-home = Vai al cruscotto

month-1 = gennaio
month-2 = febbraio
month-3 = marzo
month-4 = aprile
month-5 = maggio
month-6 = giugno
month-7 = luglio
month-8 = agosto
month-9 = settembre
month-10 = ottobre
month-11 = novembre
month-12 = dicembre

dashboard-title = Cruscotto
dashboard-welcome = Buon lavoro, { $name }.
zone-note = Date e orari nel fuso orario { $zone }.

error-refused = Il valore del campo «{ $field }» non è valido: controllarlo e riprovare.
error-taken = Il valore del campo «{ $field }» è già usato da un altro record.

error-choose = scegliere un valore dall'elenco.
